fn main() {
    std::process::exit(s3_copier::main());
}
