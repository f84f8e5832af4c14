/*
 * The migration commands of the HMP shell: migrate, migrate_incoming,
 * migrate_cancel, migrate_continue, migrate_set_capability,
 * migrate_set_parameter, and info migrate / migrate_capabilities /
 * migrate_parameters.
 */
#ifndef MIGRATION_MIGRATION_HMP_H
#define MIGRATION_MIGRATION_HMP_H

/*
 * Add the migration commands to the HMP shell (its tables are static).
 * Start-up, main thread, once; the process assembly calls it.
 */
void migration_hmp_register(void);
/* calc_dirty_rate and info dirty_rate (migration/dirty-rate-qmp.c). */
void dirty_rate_hmp_register(void);

#endif
