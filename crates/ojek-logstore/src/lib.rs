//! ojek logs storage.
