//! Tests of nmap runs as observations.
use super::*;
