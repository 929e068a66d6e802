/**
 * What the web tier's application servers run: one typed choice. A bundle (one
 * JavaScript file run by the target's Node.js) works on every target; an image
 * only where the target runs images (DockerTarget; AwsTarget refuses it at synth).
 */
export class AppArtifact {
  /** A bundled Node.js app: one CommonJS .js or .cjs file on the machine that runs synth. */
  static fromBundle(path: string): AppArtifact {
    return new AppArtifact("bundle", path);
  }

  /** An image of your application, run with its own entrypoint unless `command` is set. */
  static fromImage(image: string): AppArtifact {
    return new AppArtifact("image", image);
  }

  private constructor(
    /** "bundle" or "image". */
    readonly kind: "bundle" | "image",
    /** The bundle's path, or the image reference. */
    readonly location: string,
  ) {}
}
