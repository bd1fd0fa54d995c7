//! Dev-only test kit: real AWS emulators (ministack, moto) and throwaway
//! PostgreSQL clusters on free 127.0.0.1 ports, started once per test process
//! and stopped when it exits; plus a latency/fault-injecting proxy.
