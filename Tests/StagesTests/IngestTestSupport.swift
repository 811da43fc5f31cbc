import Foundation
import IDX
import TestSupport
import XCTest

@testable import Stages

extension TemporaryFolder {
    /// Writes a tiny IDX dataset into `url/<folder>/`: `train` and `test` images of `height x
    /// width` whose pixels encode (image, row, column), and labels `image % classes`.
    @discardableResult
    func writeDataset(
        in folder: String, train: Int = 5, test: Int = 3, height: Int = 4, width: Int = 3, classes: Int = 10,
        compression: IDXFile.Compression = .gzip(level: 6)
    ) throws -> URL {
        let directory = try subfolder(folder)
        for (prefix, count) in [("train", train), ("t10k", test)] {
            let pixels = (0..<count * height * width).map { UInt8(truncatingIfNeeded: $0 * 7 + count) }
            let suffix = compression == .none ? "" : ".gz"
            try IDXFile.write(
                IDXArray(shape: [count, height, width], values: pixels),
                to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte\(suffix)"), compression: compression)
            try IDXFile.write(
                IDXArray(shape: [count], values: (0..<count).map { UInt8($0 % classes) }),
                to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte\(suffix)"), compression: compression)
        }
        return directory
    }
}

/// `python3 -m http.server` on 127.0.0.1, serving one folder, on a port the system picks.
final class LocalHTTPServer {
    let baseURL: URL
    private let process: Process

    /// Starts the server, or throws `XCTSkip` when python3 is not installed.
    convenience init(serving folder: URL) throws {
        try self.init(arguments: ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", folder.path])
    }

    /// A server that accepts connections and never answers, to test timeouts.
    static func silent() throws -> LocalHTTPServer {
        let script = """
            import socket, time
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen(8)
            print("Serving HTTP on 127.0.0.1 port %d" % server.getsockname()[1], flush=True)
            connections = []
            while True:
                connections.append(server.accept())
            """
        return try LocalHTTPServer(arguments: ["-u", "-c", script])
    }

    private init(arguments: [String]) throws {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let python else { throw XCTSkip("python3 is needed for the local HTTP server") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line names the port: "Serving HTTP on 127.0.0.1 port 41234 (http://...) ...".
        var text = ""
        while !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let match = text.range(of: #"port (\d+)"#, options: .regularExpression) else {
            process.terminate()
            throw XCTSkip("the local HTTP server did not start: \(text)")
        }
        let port = text[match].dropFirst(5)
        baseURL = URL(string: "http://127.0.0.1:\(port)/")!
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }
}
