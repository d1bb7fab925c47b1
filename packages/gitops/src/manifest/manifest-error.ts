import { BadInputError } from "@selfheal/core";

/**
 * A manifest edit that cannot be made: the text does not parse, the workload, container,
 * image entry or path is not there, or more than one candidate matches.
 * `path` is the JSON-ish path that failed (`spec.template.spec.containers`), and
 * `documentIndex` the zero-based document of a multi-document file (undefined when the
 * failure is not tied to one document).
 */
export class ManifestError extends BadInputError {
  /** Zero-based index of the YAML document concerned, when there is one. */
  readonly documentIndex: number | undefined;

  constructor(
    message: string,
    options: {
      readonly path?: string;
      readonly documentIndex?: number;
      readonly operation?: string;
      readonly cause?: unknown;
    } = {},
  ) {
    const where = [
      options.path === undefined || options.path === "" ? undefined : options.path,
      options.documentIndex === undefined ? undefined : `document ${options.documentIndex}`,
    ].filter((part) => part !== undefined);
    super(where.length === 0 ? message : `${where.join(" in ")}: ${message}`, {
      adapter: "gitops",
      ...(options.operation === undefined ? {} : { operation: options.operation }),
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "ManifestError";
    this.documentIndex = options.documentIndex;
  }
}
