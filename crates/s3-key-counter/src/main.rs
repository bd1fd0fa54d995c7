fn main() {
    std::process::exit(s3_key_counter::main());
}
