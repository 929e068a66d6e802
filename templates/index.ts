/**
 * Framework-free renderers: typed config in, file text out. No cdktf import here,
 * so the same code serves the Docker target, the AWS target and the lab.
 */
export * from "./validate";
export * from "./paths";
export * from "./haproxy";
export * from "./nginx";
export * from "./edge-limits";
export * from "./keepalived";
export * from "./nftables";
export * from "./mysql/engine";
export * from "./mysql/my-cnf";
export * from "./mysql/replication-sql";
export * from "./mysql/replication-tls";
export * from "./scripts/shell";
export * from "./scripts/healthcheck";
export * from "./scripts/load-balancer";
export * from "./scripts/move-address";
export * from "./scripts/web";
export * from "./scripts/app";
export * from "./scripts/database";
export * from "./scripts/database-failover";
export * from "./monitoring/common";
export * from "./monitoring/prometheus";
export * from "./monitoring/alertmanager";
export * from "./monitoring/alert-rules";
export * from "./monitoring/backup-alert-rules";
export * from "./monitoring/grafana-dashboard";
export * from "./mysql/backup-plan";
export * from "./mysql/backup-schedule";
export * from "./mysql/backup-files";
export * from "./scripts/database-backup";
export * from "./scripts/database-backup-scheduler";
export * from "./scripts/database-binlog-archiver";
export * from "./scripts/database-restore";
