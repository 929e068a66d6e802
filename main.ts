import { App } from "cdktf";
import { AwsStack } from "./examples/aws-stack";
import { LocalStack } from "./examples/local-stack";

export { AwsStack } from "./examples/aws-stack";
export { LocalStack } from "./examples/local-stack";
export { declareSeedStack } from "./examples/seed-stack";

/**
 * The example app: the seed's stack on local Docker (`local`) and on AWS EC2
 * (`aws`). Both synthesize without credentials: `npm run synth`.
 */
if (require.main === module) {
  const app = new App();
  new LocalStack(app, "local");
  new AwsStack(app, "aws");
  app.synth();
}
