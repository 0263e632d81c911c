/*
 * Imported before the AWS SDK (ES modules evaluate imports in order): the SDK warns on every load
 * that Node 20 support ends (NodeVersionSupportWarning). lifeline pins an SDK version that works on
 * Node 20; the warning is for the project to act on, not for an operator at 3 a.m.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
