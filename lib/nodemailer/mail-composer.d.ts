// `mailer-rs/lib/mail-composer`: nodemailer's lib/mail-composer is not part of mailer-rs; this file only makes
// the import resolve, so a use of it fails to compile with "has no exported member" rather
// than "cannot find module" (loading the module at run time throws).
export {};
