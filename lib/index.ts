export * from "./targets/target";
export * from "./targets/docker/docker-target";
export * from "./targets/docker/images";
export * from "./tiers/mysql-cluster";
export * from "./tiers/web-app-tier";
export * from "./tiers/load-balancer-tier";
export * from "./validation";
export * from "./app-bundle";
