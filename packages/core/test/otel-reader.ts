import { MetricReader } from "@opentelemetry/sdk-metrics";

/** A pull metric reader: tests call `collect()` themselves. */
export class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
