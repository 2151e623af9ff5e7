//! Tests of the nmap XML reader.
use super::*;
