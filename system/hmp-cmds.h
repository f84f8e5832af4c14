/*
 * The HMP commands of system/ (run state and memory): registered once at
 * start-up, before any monitor runs.
 */
#ifndef SYSEMU_HMP_CMDS_H
#define SYSEMU_HMP_CMDS_H

void system_hmp_register(void);

#endif
