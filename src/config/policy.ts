import { z } from 'zod';

/**
 * The recovery document as settings: what is backed up when, how long it is kept, and when
 * lifeline should say loudly that a promise is not being kept. Defaults = the document's.
 */
const retentionRule = z
  .object({
    days: z.number().min(0).describe('keep backups younger than this many days'),
    keepLast: z.number().int().min(0).default(1).describe('always keep the newest N, whatever their age'),
  })
  .strict();

export const policySchema = z
  .object({
    schedules: z
      .object({
        // `cron` overrides the friendly form with a croner pattern (seconds allowed): for tests and
        // unusual calendars.
        daily: z.object({ at: z.string().regex(/^\d{2}:\d{2}$/).default('02:00'), cron: z.string().optional() }).strict().prefault({}).describe('logical backup once a day at HH:MM (local time)'),
        pitr: z.object({ everyHours: z.number().int().min(1).max(24).default(6), cron: z.string().optional() }).strict().prefault({}).describe('base backup every N hours'),
        verify: z.object({ level: z.enum(['integrity', 'archive', 'restore', 'consistency']).default('restore'), at: z.string().regex(/^\d{2}:\d{2}$/).default('04:00'), cron: z.string().optional() }).strict().prefault({}),
        prune: z.object({ at: z.string().regex(/^\d{2}:\d{2}$/).default('05:00'), cron: z.string().optional() }).strict().prefault({}),
        drill: z.object({ everyDays: z.number().int().min(1).default(30), cron: z.string().optional() }).strict().prefault({}).describe('monthly recovery drill'),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        daily: retentionRule.prefault({ days: 7 }),
        pitr: retentionRule.prefault({ days: 30 }).describe('base backups, with the WAL they need for the whole window'),
        'pre-deploy': retentionRule.prefault({ days: 30, keepLast: 5 }),
        manual: retentionRule.prefault({ days: 30, keepLast: 5 }),
        drill: retentionRule.prefault({ days: 14, keepLast: 1 }),
      })
      .strict()
      .prefault({}),
    thresholds: z
      .object({
        backupAgeGraceHours: z.number().min(0).default(2).describe('how late a scheduled backup may be before status warns'),
        minFreePercent: z.number().min(0).max(100).default(10).describe('repository filesystem free space below this is critical'),
        warnFreePercent: z.number().min(0).max(100).default(20),
        repositoryQuotaBytes: z.number().int().positive().optional().describe('S3: repository size limit to measure against'),
        walLagWarnMinutes: z.number().min(0).default(15),
        walLagCriticalMinutes: z.number().min(0).default(60),
        drillOverdueDays: z.number().min(0).default(35),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;

export const alertSinkSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('webhook'),
      url: z.string().url(),
      timeoutMs: z.number().int().min(100).default(5000),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('command'),
      argv: z.array(z.string()).min(1).describe('run with the event as JSON on stdin'),
      timeoutMs: z.number().int().min(100).default(30000),
    })
    .strict(),
]);
export type AlertSink = z.infer<typeof alertSinkSchema>;
