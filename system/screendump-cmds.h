/*
 * The HMP screendump command (its QMP twin is generated from qapi/ui.json):
 * registered once at start-up, before any monitor runs.
 */
#ifndef SYSTEM_SCREENDUMP_CMDS_H
#define SYSTEM_SCREENDUMP_CMDS_H

void screendump_hmp_register(void);

#endif
