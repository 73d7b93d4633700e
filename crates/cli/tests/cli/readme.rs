//! The README's first train, run as written (its ```console blocks), the way the walkthrough is: a real
//! `railyard serve` on a fresh database, every command through `/bin/sh`, every output compared.

use crate::walkthrough::run_document;

#[test]
fn the_readmes_first_train_runs_as_written() {
    run_document("README.md", 20);
}
