// `mailer-rs/lib/addressparser`: types only (loading this module at run time throws). The address
// shapes of nodemailer's lib/addressparser.
declare namespace addressparser {
  interface Address {
    name: string;
    address: string;
  }
  interface Group {
    name: string;
    group: AddressOrGroup[];
  }
  type AddressOrGroup = Address | Group;
}
export = addressparser;
