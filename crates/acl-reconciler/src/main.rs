fn main() {
    std::process::exit(acl_reconciler::main());
}
