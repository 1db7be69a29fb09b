//! Pattern rules declared in `.premortem.yaml` (`custom_rules:`).
