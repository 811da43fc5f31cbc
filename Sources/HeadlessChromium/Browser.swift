import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to start, drive or hear back from Chromium, with what to do about it.
public struct BrowserError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Headless Chromium driven over the DevTools protocol through `--remote-debugging-pipe`: the
/// browser reads NUL-terminated JSON commands on its file descriptor 3 and writes responses and
/// events on 4, so no port, WebSocket or driver binary is involved.
///
/// One ``Browser`` is one Chromium process with a throw-away profile; ``openPage(_:width:height:)``
/// attaches to a new tab in flat-session mode. Every event the browser sends is kept
/// (``Page/events``), so a caller can look for console errors or network requests afterwards.
/// Not thread-safe: drive it from one thread.
public final class Browser {
    /// The Chromium executable that ran.
    public let executable: String
    private let pid: pid_t
    private let commandFD: Int32
    private let responseFD: Int32
    private let profile: URL
    private var nextID = 1
    private var pending: [UInt8] = []
    private var buffered: [[String: Any]] = []
    private var closed = false

    /// Where Chromium is looked for, first found wins: `$H5PIPE_CHROMIUM`, then Debian's and
    /// other distributions' names on `PATH`.
    public static func findExecutable() -> String? {
        if let named = ProcessInfo.processInfo.environment["H5PIPE_CHROMIUM"], !named.isEmpty { return named }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            for folder in path.split(separator: ":") {
                let candidate = "\(folder)/\(name)"
                if access(candidate, X_OK) == 0 { return candidate }
            }
        }
        return nil
    }

    /// Starts Chromium headless with a fresh profile in a temporary folder.
    /// - Parameter executable: the browser; nil looks for one with ``findExecutable()``.
    public init(executable: String? = nil) throws {
        guard let executable = executable ?? Browser.findExecutable() else {
            throw BrowserError(
                "no Chromium found: install Debian's `chromium` (apt-get install chromium) or set H5PIPE_CHROMIUM")
        }
        self.executable = executable
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("h5pipe-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)

        // Two pipes, each end duplicated above 10 with close-on-exec, so that only the two ends
        // dup2'd to 3 and 4 reach the child.
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                throw BrowserError("cannot create a pipe: \(String(cString: strerror(errno)))")
            }
            let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
            let write = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
            Glibc.close(fds[0])
            Glibc.close(fds[1])
            return (read, write)
        }
        let commands = try pipePair()
        let responses = try pipePair()
        let log = open(profile.appendingPathComponent("chromium.log").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let devNull = open("/dev/null", O_RDONLY)
        defer {
            Glibc.close(commands.read)
            Glibc.close(responses.write)
            if log >= 0 { Glibc.close(log) }
            if devNull >= 0 { Glibc.close(devNull) }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, devNull, 0)
        if log >= 0 {
            posix_spawn_file_actions_adddup2(&actions, log, 1)
            posix_spawn_file_actions_adddup2(&actions, log, 2)
        }
        posix_spawn_file_actions_adddup2(&actions, commands.read, 3)
        posix_spawn_file_actions_adddup2(&actions, responses.write, 4)

        let arguments = [
            executable, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
            "--mute-audio", "--hide-scrollbars", "--user-data-dir=\(profile.path)", "about:blank",
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, &argv, environ)
        guard status == 0 else {
            Glibc.close(commands.write)
            Glibc.close(responses.read)
            try? FileManager.default.removeItem(at: profile)
            throw BrowserError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
        commandFD = commands.write
        responseFD = responses.read
        signal(SIGPIPE, SIG_IGN)
        // The browser answers once it is up; a command that times out means it never came up.
        do {
            _ = try send("Browser.getVersion", timeout: 30)
        } catch {
            let tail = (try? String(contentsOf: profile.appendingPathComponent("chromium.log"), encoding: .utf8)) ?? ""
            close()
            throw BrowserError(
                "\(executable) did not answer on its DevTools pipe (\(error)); its log:\n\(tail.suffix(2000))")
        }
    }

    deinit { close() }

    /// Asks Chromium to quit, waits up to 5 s, kills it otherwise, and removes its profile.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? write(["id": nextID, "method": "Browser.close"])
        Glibc.close(commandFD)
        let deadline = Date().addingTimeInterval(5)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(20_000)
        }
        Glibc.close(responseFD)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Opens a new tab of `width` × `height` CSS pixels and attaches to it, with the Page, Runtime,
    /// Log and Network domains enabled; then navigates to `url` and waits for its load event.
    public func openPage(_ url: URL, width: Int = 1280, height: Int = 900, timeout: TimeInterval = 60) throws -> Page {
        let target = try send("Target.createTarget", ["url": "about:blank"], timeout: timeout)
        guard let targetID = target["targetId"] as? String else {
            throw BrowserError("Target.createTarget gave no targetId")
        }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true], timeout: timeout)
        guard let session = attached["sessionId"] as? String else {
            throw BrowserError("Target.attachToTarget gave no sessionId")
        }
        let page = Page(browser: self, session: session)
        for domain in ["Page", "Runtime", "Log", "Network"] {
            _ = try page.send("\(domain).enable", timeout: timeout)
        }
        _ = try page.send(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false], timeout: timeout)
        try page.navigate(url, timeout: timeout)
        return page
    }

    // MARK: - The pipe

    /// Sends one command and waits for its answer; events that arrive meanwhile are buffered.
    func send(_ method: String, _ params: [String: Any] = [:], session: String? = nil, timeout: TimeInterval) throws
        -> [String: Any]
    {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        try write(message)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let message = try readMessage(deadline: deadline, waitingFor: method) else { continue }
            if let answer = message["id"] as? Int, answer == id {
                if let error = message["error"] as? [String: Any] {
                    throw BrowserError("\(method) failed: \(error["message"] ?? error)")
                }
                return message["result"] as? [String: Any] ?? [:]
            }
            if message["method"] != nil { buffered.append(message) }
        }
    }

    /// Reads messages until `deadline`, buffering events; returns the events buffered so far
    /// (and clears them).
    func drainEvents(until deadline: Date) throws -> [[String: Any]] {
        while Date() < deadline {
            guard let message = try readMessage(deadline: deadline, waitingFor: nil) else { break }
            if message["method"] != nil { buffered.append(message) }
        }
        defer { buffered.removeAll() }
        return buffered
    }

    private func write(_ message: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: message)
        data.append(0)
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(commandFD, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw BrowserError("the browser's DevTools pipe closed (\(String(cString: strerror(errno))))")
                }
                offset += written
            }
        }
    }

    /// The next whole message, or nil when `waitingFor` is nil and `deadline` passed.
    private func readMessage(deadline: Date, waitingFor method: String?) throws -> [String: Any]? {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let bytes = Data(pending[..<end])
                pending.removeSubrange(...end)
                guard let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] else { continue }
                return object
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                if let method { throw BrowserError("no answer to \(method) in time") }
                return nil
            }
            var poller = pollfd(fd: responseFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0 && errno != EINTR { throw BrowserError("poll on the DevTools pipe failed") }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = read(responseFD, &chunk, chunk.count)
            if count == 0 { throw BrowserError("the browser closed its DevTools pipe (did it crash?)") }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw BrowserError("reading the DevTools pipe failed: \(String(cString: strerror(errno)))")
            }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    func takeBuffered(session: String) -> [[String: Any]] {
        let mine = buffered.filter { ($0["sessionId"] as? String) == session }
        buffered.removeAll { ($0["sessionId"] as? String) == session }
        return mine
    }
}

/// One tab of a ``Browser``: commands go to it through its flat session.
public final class Page {
    private let browser: Browser
    private let session: String
    /// Every event this tab sent, in order (`method` and `params` of each).
    public private(set) var events: [(method: String, params: [String: Any])] = []

    init(browser: Browser, session: String) {
        self.browser = browser
        self.session = session
    }

    /// Sends a DevTools command to this tab and returns its result.
    @discardableResult
    public func send(_ method: String, _ params: [String: Any] = [:], timeout: TimeInterval = 60) throws -> [String:
        Any]
    {
        let result = try browser.send(method, params, session: session, timeout: timeout)
        collect()
        return result
    }

    private func collect() {
        for event in browser.takeBuffered(session: session) {
            events.append((event["method"] as? String ?? "", event["params"] as? [String: Any] ?? [:]))
        }
    }

    /// Navigates and waits for the page's load event.
    public func navigate(_ url: URL, timeout: TimeInterval = 60) throws {
        let before = events.count
        let result = try send("Page.navigate", ["url": url.absoluteString], timeout: timeout)
        if let error = result["errorText"] as? String { throw BrowserError("cannot open \(url.path): \(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while !events[before...].contains(where: { $0.method == "Page.loadEventFired" }) {
            guard Date() < deadline else {
                throw BrowserError("\(url.path) did not finish loading in \(Int(timeout)) s")
            }
            try waitForEvents(seconds: 0.05)
        }
    }

    /// Lets `seconds` pass while collecting events.
    public func waitForEvents(seconds: TimeInterval) throws {
        for event in try browser.drainEvents(until: Date().addingTimeInterval(seconds)) {
            if (event["sessionId"] as? String) == session {
                events.append((event["method"] as? String ?? "", event["params"] as? [String: Any] ?? [:]))
            }
        }
    }

    /// Evaluates a JavaScript expression (awaiting a promise) and returns its value as JSON
    /// would decode it; a thrown exception becomes a ``BrowserError`` with its text.
    @discardableResult
    public func evaluate(_ expression: String, timeout: TimeInterval = 60) throws -> Any? {
        let result = try send(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true],
            timeout: timeout)
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let text = ((exception["exception"] as? [String: Any])?["description"] as? String) ?? "\(exception)"
            throw BrowserError("`\(expression.prefix(80))` threw: \(text)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Moves the mouse to (x, y) in CSS pixels of the viewport.
    public func moveMouse(x: Double, y: Double) throws {
        try send("Input.dispatchMouseEvent", ["type": "mouseMoved", "x": x, "y": y])
    }

    /// Clicks the left button at (x, y).
    public func click(x: Double, y: Double) throws {
        for type in ["mouseMoved", "mousePressed", "mouseReleased"] {
            try send(
                "Input.dispatchMouseEvent", ["type": type, "x": x, "y": y, "button": "left", "clickCount": 1])
        }
    }

    /// Turns the mouse wheel at (x, y) by `deltaY` pixels (negative: away from the user, zoom in).
    public func wheel(x: Double, y: Double, deltaY: Double) throws {
        try send("Input.dispatchMouseEvent", ["type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": deltaY])
    }

    /// A PNG screenshot of the viewport.
    public func screenshot() throws -> Data {
        let result = try send("Page.captureScreenshot", ["format": "png"])
        guard let text = result["data"] as? String, let data = Data(base64Encoded: text) else {
            throw BrowserError("Page.captureScreenshot returned no image")
        }
        return data
    }

    /// Console messages of level error or warning, uncaught exceptions and failed loads, as text.
    public var problems: [String] {
        events.compactMap { event in
            switch event.method {
            case "Runtime.consoleAPICalled":
                guard let type = event.params["type"] as? String,
                    type == "error" || type == "warning" || type == "assert"
                else { return nil }
                let arguments = (event.params["args"] as? [[String: Any]] ?? []).map {
                    "\($0["value"] ?? $0["description"] ?? "")"
                }
                return "console.\(type): \(arguments.joined(separator: " "))"
            case "Runtime.exceptionThrown":
                let details = event.params["exceptionDetails"] as? [String: Any] ?? [:]
                let exception = details["exception"] as? [String: Any]
                return "uncaught: \(exception?["description"] ?? details["text"] ?? "")"
            case "Log.entryAdded":
                let entry = event.params["entry"] as? [String: Any] ?? [:]
                guard let level = entry["level"] as? String, level == "error" || level == "warning" else { return nil }
                return "log \(level): \(entry["text"] ?? "") \(entry["url"] ?? "")"
            case "Network.loadingFailed":
                return "load failed: \(event.params["errorText"] ?? "") (\(event.params["type"] ?? ""))"
            default:
                return nil
            }
        }
    }

    /// The URLs of every request the page made (Network.requestWillBeSent), data: URLs included
    /// when Chromium reports them.
    public var requests: [String] {
        events.compactMap { event in
            guard event.method == "Network.requestWillBeSent" else { return nil }
            return (event.params["request"] as? [String: Any])?["url"] as? String
        }
    }
}
