//! Integration tests: every test drives the real `deployer` binary.

mod action;
mod ansible_cfg;
mod aws_ec2;
mod bad_input;
mod compile_errors;
mod completions;
mod deploys;
mod dialect;
mod differential;
mod dynamic_inventory;
mod faults;
mod fleet;
mod hostile_hosts;
mod hostile_values;
mod local_runs;
mod modules_fleet;
mod output;
mod over_ssh;
mod realworld;
mod realworld_fleet;
mod releases;
mod runlog;
mod secrets;
mod security;
mod support;
mod templating;
