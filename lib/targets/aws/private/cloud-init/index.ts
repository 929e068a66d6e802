/**
 * cloud-init user data for VMs (the AWS target), rendered from the same start
 * scripts and configs the Docker target uploads. Framework-free: no cdktf here.
 */
export * from "./yaml";
export * from "./systemd";
export * from "./host-scripts";
export * from "./cloud-config";
