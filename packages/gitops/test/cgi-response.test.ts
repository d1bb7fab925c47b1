import { describe, expect, it } from "vitest";
import { parseCgiHead } from "../src/testing/cgi-response.js";

describe("parseCgiHead", () => {
  it("waits for the blank line", () => {
    expect(parseCgiHead(Buffer.from("Content-Type: text/plain\r\n"))).toBeUndefined();
  });

  it("reads Status and keeps the other headers and the body start (CRLF)", () => {
    const head = parseCgiHead(
      Buffer.from("Status: 404 Not Found\r\nExpires: 0\r\nContent-Type: text/plain\r\n\r\nRepo"),
    );
    expect(head?.status).toBe(404);
    expect(head?.headers).toEqual([
      ["Expires", "0"],
      ["Content-Type", "text/plain"],
    ]);
    expect(head?.rest.toString()).toBe("Repo");
  });

  it("defaults to 200 and accepts LF line endings", () => {
    const head = parseCgiHead(
      Buffer.from("Content-Type: application/x-git-upload-pack-advertisement\n\n001e#"),
    );
    expect(head?.status).toBe(200);
    expect(head?.rest.toString()).toBe("001e#");
  });
});
