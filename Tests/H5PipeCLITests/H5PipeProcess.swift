import Foundation
import TestSupport
import XCTest

/// Runs the built `h5pipe` binary in a folder, as a user would.
struct H5PipeProcess {
    /// `H5PIPE_BINARY` when set (scripts/test points it at the release build), otherwise the
    /// binary beside the test bundle.
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["H5PIPE_BINARY"] { return URL(fileURLWithPath: path) }
        return Bundle.main.bundleURL.appendingPathComponent("h5pipe")
    }

    /// Skips the calling test when the binary is not built.
    static func requireExecutable() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw XCTSkip("h5pipe is not built at \(executable.path)")
        }
    }

    /// The working directory of every command.
    let folder: URL
    /// Extra environment variables.
    var environment: [String: String] = [:]
    /// A command the binary runs under, given the binary's path and arguments after its own
    /// (`["/usr/bin/unshare", "-n"]`); empty to run the binary directly.
    var wrapper: [String] = []

    /// What a finished command printed and returned.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Both streams, for assertion messages.
        var output: String { stdout + stderr }
    }

    /// A command still running; its standard error is collected as it arrives.
    final class Running: @unchecked Sendable {
        let process: Process
        private let lock = NSLock()
        private var errorText = ""
        private var outputText = ""
        private let done = DispatchGroup()

        init(process: Process, output: Pipe, error: Pipe) {
            self.process = process
            for (pipe, isError) in [(output, false), (error, true)] {
                done.enter()
                DispatchQueue.global().async { [self] in
                    while true {
                        let data = pipe.fileHandleForReading.availableData
                        if data.isEmpty { break }
                        lock.lock()
                        if isError {
                            errorText += String(decoding: data, as: UTF8.self)
                        } else {
                            outputText += String(decoding: data, as: UTF8.self)
                        }
                        lock.unlock()
                    }
                    done.leave()
                }
            }
        }

        /// Standard error so far.
        var stderrSoFar: String {
            lock.lock()
            defer { lock.unlock() }
            return errorText
        }

        /// Waits until `condition` holds for standard error (see ``waitUntil(timeout:stop:_:)``).
        /// - Returns: false after `timeout` seconds or when the process exited first.
        func waitForStderr(timeout: TimeInterval, _ condition: (String) -> Bool) -> Bool {
            waitUntil(timeout: timeout, stop: { !process.isRunning }, { condition(stderrSoFar) })
        }

        /// Sends SIGKILL, as `kill -9` would, and reaps the process.
        func killHard() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// Waits for the process to exit and returns what it printed.
        func finish() -> Result {
            process.waitUntilExit()
            done.wait()
            lock.lock()
            defer { lock.unlock() }
            return Result(status: process.terminationStatus, stdout: outputText, stderr: errorText)
        }
    }

    /// Starts `h5pipe arguments…` in `folder`.
    func start(_ arguments: [String]) throws -> Running {
        let process = Process()
        let command = wrapper + [Self.executable.path] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        return Running(process: process, output: output, error: error)
    }

    /// Runs `h5pipe arguments…` in `folder` to completion.
    @discardableResult
    func run(_ arguments: String...) throws -> Result {
        try run(arguments)
    }

    /// Runs `h5pipe arguments…` in `folder` to completion.
    @discardableResult
    func run(_ arguments: [String]) throws -> Result {
        try start(arguments).finish()
    }
}
