import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { parseS3Url, resolveS3, storeSettingsFrom } from '../../src/storage/s3/settings.js';

describe('S3 settings', () => {
  it('parses s3://bucket/prefix with per-URL overrides, and refuses bad names', () => {
    expect(parseS3Url('s3://my-backups/prod/db1')).toEqual({ bucket: 'my-backups', prefix: 'prod/db1/', overrides: {} });
    expect(parseS3Url('s3://my-backups')).toEqual({ bucket: 'my-backups', prefix: '', overrides: {} });
    expect(parseS3Url('s3://b-eu/x/?region=eu-west-1&endpoint=https://minio:9000').overrides).toEqual({ region: 'eu-west-1', endpoint: 'https://minio:9000' });
    for (const bad of ['s3://ab/x', 's3://Upper/x', 's3:///x', 's3://bucket/../x', 's3://bucket/x?colour=red']) {
      expect(() => parseS3Url(bad)).toThrow();
    }
  });

  it('endpoint and region: URL, then config, then the AWS variables; path-style whenever an endpoint is set', () => {
    const env = { AWS_ENDPOINT_URL: 'http://generic:1', AWS_ENDPOINT_URL_S3: 'http://s3-only:2', AWS_REGION: 'eu-north-1' };
    expect(resolveS3('s3://bucket/p', {}, env)).toMatchObject({ endpoint: 'http://s3-only:2', region: 'eu-north-1', forcePathStyle: true, checksum: 'when_required' });
    expect(resolveS3('s3://bucket/p', {}, { AWS_ENDPOINT_URL: 'http://generic:1' })).toMatchObject({ endpoint: 'http://generic:1', region: 'us-east-1' });
    expect(resolveS3('s3://bucket/p', { endpoint: 'https://cfg', region: 'auto' }, env)).toMatchObject({ endpoint: 'https://cfg', region: 'auto' });
    expect(resolveS3('s3://bucket/p?region=ap-south-1', { region: 'auto' }, env).region).toBe('ap-south-1');
    expect(resolveS3('s3://bucket/p', { forcePathStyle: false, endpoint: 'https://x' }, {}).forcePathStyle).toBe(false);
    // Plain AWS: virtual-hosted style, the SDK's default checksums, region from the SDK's own chain.
    expect(resolveS3('s3://bucket/p', {}, {})).toMatchObject({ endpoint: undefined, region: undefined, forcePathStyle: false, checksum: 'when_supported', partSize: 8 * 1024 * 1024, queueSize: 4 });
  });

  it('the light reader and the zod schema accept and refuse the same settings', () => {
    const good = { mode: 'shared-group', group: 'lifeline', s3: { partSizeMb: 8, queueSize: 2, sse: 'aws:kms', kmsKeyId: 'k', checksum: 'when_required', objectLock: { mode: 'compliance', days: 30 } } };
    expect(storeSettingsFrom(good)).toEqual(good);
    expect(configSchema.safeParse({ repository: good }).success).toBe(true);
    for (const bad of [
      { mode: 'world' },
      { s3: { partSizeMb: 4 } },
      { s3: { sse: 'des' } },
      { s3: { objectLock: { mode: 'governance' } } },
      { s3: { checksum: 'always' } },
    ]) {
      expect(() => storeSettingsFrom(bad)).toThrow();
      expect(configSchema.safeParse({ repository: bad }).success).toBe(false);
    }
    expect(configSchema.safeParse({ repository: { mode: 'shared-group' } }).success).toBe(false);
    expect(configSchema.safeParse({ copyTo: 's3://second/copy' }).success).toBe(true);
  });
});
