/*
 * The HMP dirty limit commands (their QMP twins are generated from
 * qapi/dirty-rate.json): registered once at start-up.
 */
#ifndef SYSTEM_DIRTY_LIMIT_QMP_H
#define SYSTEM_DIRTY_LIMIT_QMP_H

void dirty_limit_hmp_register(void);

#endif
