// `mailer-rs/lib/shared`: types only (loading this module at run time throws). The logger types
// of nodemailer's lib/shared.
import type * as root from '../../index.js';

export type Logger = root.Logger;
export type LoggerLevel = root.LogLevel;
