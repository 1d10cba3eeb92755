//! The Linode API v4 client: the only code that talks to the Linode API.
