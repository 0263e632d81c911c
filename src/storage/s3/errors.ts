import { LifelineError } from '../../errors.js';

/** What S3Store was doing when an error happened, for the message. */
export interface S3ErrorContext {
  op: 'read' | 'write' | 'list' | 'delete';
  /** s3://bucket/prefix/key or s3://bucket/prefix */
  what: string;
  bucket: string;
  endpoint?: string;
  region?: string;
}

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);
const REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'Redirect']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  Region?: string;
  cause?: unknown;
}

/** The S3 error code (NoSuchKey, AccessDenied, ...) or the network errno of an SDK error. */
export function s3ErrorCode(error: unknown): string | undefined {
  const e = error as SdkError | null;
  if (!e || typeof e !== 'object') return undefined;
  return e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? e.name;
}

export function httpStatus(error: unknown): number | undefined {
  return (error as SdkError | null)?.$metadata?.httpStatusCode;
}

export function isNotFound(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound' || (httpStatus(error) === 404 && code !== 'NoSuchBucket');
}

export function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as SdkError).cause, depth++) {
    const code = (e as SdkError).code;
    const name = (e as SdkError).name;
    if ((typeof code === 'string' && NETWORK_CODES.has(code)) || name === 'TimeoutError' || name === 'RequestTimeout') return true;
    const message = String((e as SdkError).message ?? '');
    if (/socket hang up|aborted|ECONNRESET|ECONNREFUSED|other side closed/i.test(message) && !(e instanceof LifelineError)) return true;
  }
  return false;
}

/** One line and a hint for an error of the AWS SDK; LifelineErrors pass through. */
export function s3Error(error: unknown, ctx: S3ErrorContext): LifelineError {
  if (error instanceof LifelineError) return error;
  const e = (error ?? {}) as SdkError;
  const code = s3ErrorCode(error) ?? 'Error';
  const status = httpStatus(error);
  const where = ctx.endpoint ? ` at ${ctx.endpoint}` : '';
  const detail = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : '';

  if (code === 'NoSuchBucket') {
    return new LifelineError('REPO_AUTH', `The S3 bucket ${ctx.bucket} does not exist${where}`, {
      hint: `Create it first (e.g. \`aws s3 mb s3://${ctx.bucket}\`), or fix the bucket name in --repo / LIFELINE_REPO; check the endpoint and region too.`,
      cause: error,
    });
  }
  if (CREDENTIAL_CODES.has(code)) {
    return new LifelineError('REPO_AUTH', `S3 refused the credentials for bucket ${ctx.bucket}${where} (${code})`, {
      hint: 'Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role (the AWS default credential chain).',
      cause: error,
    });
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
    return new LifelineError('REPO_AUTH', `No AWS credentials found for bucket ${ctx.bucket}`, {
      hint: 'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance/task role is available.',
      cause: error,
    });
  }
  const bucketRegion = e.$response?.headers?.['x-amz-bucket-region'] ?? e.Region;
  if (REGION_CODES.has(code) || (status === 301 && bucketRegion)) {
    const expected = bucketRegion ?? /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1];
    return new LifelineError(
      'REPO_AUTH',
      `The S3 bucket ${ctx.bucket} is ${expected ? `in region ${expected}` : 'in another region'}, not ${ctx.region ?? 'the configured one'}`,
      {
        hint: expected
          ? `Set AWS_REGION=${expected} (or repository.s3.region, or add ?region=${expected} to the s3:// URL).`
          : 'Set AWS_REGION (or repository.s3.region) to the bucket\'s region.',
        cause: error,
      },
    );
  }
  if (/Region is missing/i.test(e.message ?? '')) {
    return new LifelineError('CONFIG_INVALID', `No AWS region is set for bucket ${ctx.bucket}`, {
      hint: 'Set AWS_REGION (or repository.s3.region, or add ?region=<region> to the s3:// URL).',
      cause: error,
    });
  }
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403) {
    const lock = ctx.op === 'delete' || /object lock|retention|WORM/i.test(e.message ?? '');
    return new LifelineError('REPO_AUTH', `S3 denied ${verb(ctx.op)} ${ctx.what} (${code})${detail}`, {
      hint: lock
        ? 'Objects under Object Lock retention cannot be deleted before their retain-until date; otherwise the IAM policy lacks s3:DeleteObject (docs/storage.md).'
        : 'The credentials lack a permission on this bucket: see the least-privilege policy in docs/storage.md.',
      cause: error,
    });
  }
  if (isNetworkError(error)) {
    const errno = findErrno(error) ?? code;
    return new LifelineError('REPO_UNREACHABLE', `Cannot reach S3${where || ` for bucket ${ctx.bucket}`} while ${verbing(ctx.op)} ${ctx.what} (${errno}, after retries)`, {
      hint: 'Check that the endpoint is up and reachable; nothing was left half-written, so run the command again once it is.',
      cause: error,
    });
  }
  if (status !== undefined && status >= 500) {
    return new LifelineError('REPO_UNREACHABLE', `S3${where} failed while ${verbing(ctx.op)} ${ctx.what} (HTTP ${status} ${code}, after retries)`, {
      hint: 'The service is having trouble; nothing was left half-written, so run the command again later.',
      cause: error,
    });
  }
  const message = `S3 error while ${verbing(ctx.op)} ${ctx.what} (${code}${status ? `, HTTP ${status}` : ''})${detail}`;
  if (ctx.op === 'write' || ctx.op === 'delete') {
    return new LifelineError('REPO_UNWRITABLE', message, { hint: 'Check the bucket settings and the credentials\' permissions (docs/storage.md).', cause: error });
  }
  return new LifelineError('REPO_READ', message, { hint: 'Check the bucket and the credentials\' permissions (docs/storage.md).', cause: error });
}

function findErrno(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as SdkError).cause, depth++) {
    const code = (e as SdkError).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

function verb(op: S3ErrorContext['op']): string {
  return op === 'read' ? 'reading' : op === 'write' ? 'writing' : op === 'list' ? 'listing' : 'deleting';
}
const verbing = verb;
