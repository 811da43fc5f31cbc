import Foundation
import TestSupport
import XCTest

@testable import PipelineEngine

final class HashingTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testFileHashMatchesStringHashAcrossBlocks() throws {
        let directory = try makeTemporaryFolder().url
        // Larger than one 1 MiB read block.
        let text = String(repeating: "h5pipe-", count: 200_000)
        let url = directory.appendingPathComponent("data.txt")
        try Data(text.utf8).write(to: url)
        XCTAssertEqual(try SHA256.hash(fileAt: url), SHA256.hash(text))
    }

    func testFingerprintChangesWhenContentIsRewritten() throws {
        let directory = try makeTemporaryFolder().url
        let url = directory.appendingPathComponent("f")
        try Data("one".utf8).write(to: url)
        let first = try XCTUnwrap(FileFingerprint(path: url.path))
        XCTAssertEqual(FileFingerprint(path: url.path), first)
        try Data("two".utf8).write(to: url)
        XCTAssertNotEqual(FileFingerprint(path: url.path), first)
        XCTAssertNil(FileFingerprint(path: directory.appendingPathComponent("missing").path))
    }

    func testEditDistanceAndNearestNames() {
        XCTAssertEqual(editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(editDistance("", "abc"), 3)
        XCTAssertEqual(nearestNames(to: "tnse", among: ["tsne", "encode", "train-autoencoder"]), ["tsne"])
        XCTAssertEqual(nearestNames(to: "zzzzzz", among: ["tsne", "encode"]), [])
    }
}
