import CHDF5
import Foundation

/// An open HDF5 file: groups, typed datasets and attributes addressed by absolute paths such as
/// `/train/images`.
///
/// Thread safety: an `HDF5File` may be shared between threads. Calls on one file are serialised
/// by an internal lock; calls on different files run under the C library's own global lock.
/// Every call opens and closes the HDF5 objects it needs, so no handle outlives a call.
public final class HDF5File: @unchecked Sendable {
    /// How an existing file is opened.
    public enum AccessMode: Sendable {
        /// Reading only; any write fails.
        case readOnly
        /// Reading and writing.
        case readWrite
    }

    /// The file's location on disk.
    public let url: URL
    /// The mode the file was opened with (`.readWrite` for created files).
    public let mode: AccessMode

    /// The file's path as error messages show it.
    var fileName: String { url.path }

    private var fileID: hid_t
    private let lock = NSRecursiveLock()
    /// The dataset read last, kept open so its chunk cache survives between calls: reading a
    /// dataset in minibatches of rows then decompresses each chunk once, not once per batch.
    /// Closed by any write or removal, and with the file.
    private var openDataset: (path: String, id: hid_t)?

    private init(url: URL, mode: AccessMode, fileID: hid_t) {
        self.url = url
        self.mode = mode
        self.fileID = fileID
    }

    deinit {
        closeOpenDataset()
        if fileID >= 0 { _ = H5Fclose(fileID) }
    }

    // MARK: - Opening and closing

    /// Creates a new HDF5 file.
    /// - Parameters:
    ///   - url: where to create it; the folder must exist.
    ///   - overwrite: replace an existing file (default); when false an existing file is an error.
    /// - Throws: `HDF5Error.library` naming the file when it cannot be created.
    public static func create(_ url: URL, overwrite: Bool = true) throws -> HDF5File {
        HDF5Library.prepareThread()
        let access = try makeFileAccessList(fileName: url.path)
        defer { H5Pclose(access) }
        let flags = overwrite ? h5pipe_H5F_ACC_TRUNC() : h5pipe_H5F_ACC_EXCL()
        let id = H5Fcreate(url.path, flags, h5pipe_H5P_DEFAULT(), access)
        guard id >= 0 else {
            throw HDF5Error.library(
                file: url.path, path: "/", operation: "create the file",
                detail: HDF5Library.takeErrorDetail())
        }
        return HDF5File(url: url, mode: .readWrite, fileID: id)
    }

    /// Opens an existing HDF5 file.
    /// - Throws: `HDF5Error.fileNotFound`, `HDF5Error.notHDF5` for a file that is not HDF5 or is
    ///   damaged (e.g. truncated), `HDF5Error.library` for other failures (permissions, locks).
    public static func open(_ url: URL, mode: AccessMode = .readOnly) throws -> HDF5File {
        HDF5Library.prepareThread()
        let name = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory) else {
            throw HDF5Error.fileNotFound(file: name)
        }
        if isDirectory.boolValue {
            throw HDF5Error.notHDF5(file: name, detail: "it is a directory")
        }
        let signature = H5Fis_hdf5(name)
        if signature == 0 {
            throw HDF5Error.notHDF5(file: name, detail: "no HDF5 signature found")
        }
        if signature < 0 {
            throw HDF5Error.library(
                file: name, path: "/", operation: "read the file",
                detail: HDF5Library.takeErrorDetail())
        }
        let access = try makeFileAccessList(fileName: name)
        defer { H5Pclose(access) }
        let flags = mode == .readOnly ? h5pipe_H5F_ACC_RDONLY() : h5pipe_H5F_ACC_RDWR()
        let id = H5Fopen(name, flags, access)
        guard id >= 0 else {
            let detail = HDF5Library.takeErrorDetail()
            if detail.contains("truncated") || detail.contains("signature")
                || detail.contains("superblock")
            {
                throw HDF5Error.notHDF5(file: name, detail: detail)
            }
            throw HDF5Error.library(
                file: name, path: "/", operation: "open the file",
                detail: detail)
        }
        return HDF5File(url: url, mode: mode, fileID: id)
    }

    /// File access settings: objects close with the file, and the 1.8 object formats (which
    /// store large and many attributes densely) while staying readable by HDF5 1.10 tools.
    ///
    /// HDF5's own `flock` on every open file is turned off. h5pipe writes each file privately
    /// (a temporary file, published by rename) and guards a folder with a lock of its own, so
    /// those locks protect nothing here; and they fail spuriously ("unable to lock file, errno =
    /// 11") when a child process started at that moment, by a `command` stage, still holds a
    /// copy of the descriptor while the file is closed and opened again.
    private static func makeFileAccessList(fileName: String) throws -> hid_t {
        let access = H5Pcreate(h5pipe_H5P_FILE_ACCESS())
        guard access >= 0,
            H5Pset_fclose_degree(access, H5F_CLOSE_STRONG) >= 0,
            H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_V110) >= 0,
            H5Pset_file_locking(access, false, true) >= 0
        else {
            if access >= 0 { H5Pclose(access) }
            throw HDF5Error.library(
                file: fileName, path: "/", operation: "set file access",
                detail: HDF5Library.takeErrorDetail())
        }
        return access
    }

    /// Flushes and closes the file. Closing twice is harmless; any later call on this object
    /// throws `HDF5Error.fileClosed`. `deinit` closes the file too.
    public func close() throws {
        lock.lock()
        defer { lock.unlock() }
        guard fileID >= 0 else { return }
        HDF5Library.prepareThread()
        closeOpenDataset()
        let status = H5Fclose(fileID)
        fileID = -1
        if status < 0 {
            throw HDF5Error.library(
                file: fileName, path: "/", operation: "close the file",
                detail: HDF5Library.takeErrorDetail())
        }
    }

    /// Flushes buffered writes to disk without closing.
    public func flush() throws {
        try withFileID { id in
            if H5Fflush(id, H5F_SCOPE_GLOBAL) < 0 { throw self.libraryError("/", "flush the file") }
        }
    }

    /// Runs `body` with the open file identifier, holding the file's lock.
    func withFileID<Result>(_ body: (hid_t) throws -> Result) throws -> Result {
        lock.lock()
        defer { lock.unlock() }
        guard fileID >= 0 else { throw HDF5Error.fileClosed(file: fileName) }
        HDF5Library.prepareThread()
        return try body(fileID)
    }

    /// Runs `body` with the dataset at `path` open, reusing the handle kept from the last call.
    func withOpenDataset<Result>(_ path: String, _ body: (hid_t) throws -> Result) throws -> Result {
        try withFileID { id in
            if let openDataset, openDataset.path == path { return try body(openDataset.id) }
            closeOpenDataset()
            let dataset = try openDatasetWithChunkCache(fileID: id, path)
            openDataset = (path, dataset)
            return try body(dataset)
        }
    }

    /// Closes the kept dataset handle; called before anything that changes datasets.
    func closeOpenDataset() {
        if let openDataset { H5Oclose(openDataset.id) }
        openDataset = nil
    }

    /// Opens a dataset with a chunk cache that holds at least two of its chunks (HDF5's default
    /// 1 MiB cache skips larger chunks entirely, so every partial read would decompress again).
    private func openDatasetWithChunkCache(fileID: hid_t, _ path: String) throws -> hid_t {
        let dataset = try openObject(fileID: fileID, path, expecting: .dataset)
        let chunkBytes = datasetChunkBytes(dataset)
        let defaultCacheBytes = 1 << 20
        guard chunkBytes * 2 > defaultCacheBytes else { return dataset }
        H5Oclose(dataset)
        let access = H5Pcreate(h5pipe_H5P_DATASET_ACCESS())
        guard access >= 0 else { throw libraryError(path, "create a property list") }
        defer { H5Pclose(access) }
        // 521 hash slots (HDF5's default, a prime); 0.75: evict fully read chunks first.
        _ = H5Pset_chunk_cache(access, 521, min(chunkBytes * 2, 256 << 20), 0.75)
        let reopened = H5Dopen2(fileID, path, access)
        guard reopened >= 0 else { throw libraryError(path, "open the dataset") }
        return reopened
    }

    /// Bytes in one chunk of an open dataset, 0 when it is not chunked.
    private func datasetChunkBytes(_ dataset: hid_t) -> Int {
        let creation = H5Dget_create_plist(dataset)
        guard creation >= 0 else { return 0 }
        defer { H5Pclose(creation) }
        guard H5Pget_layout(creation) == H5D_CHUNKED else { return 0 }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = H5Pget_chunk(creation, Int32(dims.count), &dims)
        let type = H5Dget_type(dataset)
        guard rank > 0, type >= 0 else { return 0 }
        defer { H5Tclose(type) }
        return dims.prefix(Int(rank)).reduce(H5Tget_size(type)) { $0 * Int($1) }
    }

    /// An `HDF5Error.library` for `path` carrying the library's most specific message.
    func libraryError(_ path: String, _ operation: String) -> HDF5Error {
        .library(
            file: fileName, path: path, operation: operation,
            detail: HDF5Library.takeErrorDetail())
    }

    // MARK: - Objects and groups

    /// The kind of object stored at a path.
    public enum ObjectKind: String, Sendable {
        /// A group (the root "/" is one).
        case group
        /// A dataset.
        case dataset
        /// A committed datatype or another kind of object.
        case other
    }

    /// Whether a group or dataset exists at `path` (absolute; "/" always exists).
    public func exists(_ path: String) -> Bool {
        (try? withFileID { id in linkExists(fileID: id, normalizedPath(path)) }) ?? false
    }

    /// Checks each path component, because `H5Lexists` fails when an intermediate is missing.
    func linkExists(fileID: hid_t, _ path: String) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if H5Lexists(fileID, prefix, h5pipe_H5P_DEFAULT()) <= 0 {
                _ = H5Eclear2(h5pipe_H5E_DEFAULT())
                return false
            }
        }
        return true
    }

    /// The kind of object at `path`.
    /// - Throws: `HDF5Error.objectNotFound` when nothing is there.
    public func objectKind(_ path: String) throws -> ObjectKind {
        let path = normalizedPath(path)
        return try withFileID { id in
            let object = try openObject(fileID: id, path)
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return .other
            }
        }
    }

    /// Opens any object, mapping a missing path to `objectNotFound`. The caller closes it.
    func openObject(fileID: hid_t, _ path: String) throws -> hid_t {
        guard linkExists(fileID: fileID, path) else {
            throw HDF5Error.objectNotFound(file: fileName, path: path)
        }
        let object = H5Oopen(fileID, path, h5pipe_H5P_DEFAULT())
        guard object >= 0 else { throw libraryError(path, "open the object") }
        return object
    }

    /// Opens the object at `path` and checks it is a `kind`. The caller closes it with `H5Oclose`.
    func openObject(fileID: hid_t, _ path: String, expecting kind: ObjectKind) throws -> hid_t {
        let object = try openObject(fileID: fileID, path)
        let found: ObjectKind
        switch H5Iget_type(object) {
        case H5I_GROUP: found = .group
        case H5I_DATASET: found = .dataset
        default: found = .other
        }
        guard found == kind else {
            H5Oclose(object)
            throw HDF5Error.wrongObjectKind(
                file: fileName, path: path, expected: kind.rawValue,
                found: found.rawValue)
        }
        return object
    }

    /// Creates a group and any missing intermediate groups. An existing group is left as is.
    /// - Throws: `HDF5Error.wrongObjectKind` when a dataset is in the way.
    public func createGroup(_ path: String) throws {
        let path = normalizedPath(path)
        try withFileID { id in try createGroup(fileID: id, path) }
    }

    func createGroup(fileID: hid_t, _ path: String) throws {
        if linkExists(fileID: fileID, path) {
            H5Oclose(try openObject(fileID: fileID, path, expecting: .group))
            return
        }
        let linkCreation = try makeIntermediateGroupLinkList(path)
        defer { H5Pclose(linkCreation) }
        let group = H5Gcreate2(
            fileID, path, linkCreation, h5pipe_H5P_DEFAULT(),
            h5pipe_H5P_DEFAULT())
        guard group >= 0 else { throw libraryError(path, "create the group") }
        H5Gclose(group)
    }

    /// A link-creation property list that creates missing parent groups. The caller closes it.
    func makeIntermediateGroupLinkList(_ path: String) throws -> hid_t {
        let list = H5Pcreate(h5pipe_H5P_LINK_CREATE())
        guard list >= 0 else { throw libraryError(path, "create a property list") }
        guard H5Pset_create_intermediate_group(list, 1) >= 0 else {
            H5Pclose(list)
            throw libraryError(path, "set intermediate group creation")
        }
        return list
    }

    /// Names (not paths) of the groups and datasets directly inside the group at `path`, sorted.
    /// - Throws: `objectNotFound`, or `wrongObjectKind` when `path` is a dataset.
    public func children(of path: String = "/") throws -> [String] {
        let path = normalizedPath(path)
        return try withFileID { id in
            let group = try openObject(fileID: id, path, expecting: .group)
            defer { H5Oclose(group) }
            var info = H5G_info_t()
            guard H5Gget_info(group, &info) >= 0 else { throw libraryError(path, "list the group") }
            var names: [String] = []
            names.reserveCapacity(Int(info.nlinks))
            for index in 0..<info.nlinks {
                let length = H5Lget_name_by_idx(
                    group, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                    nil, 0, h5pipe_H5P_DEFAULT())
                guard length >= 0 else { throw libraryError(path, "list the group") }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                _ = H5Lget_name_by_idx(
                    group, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                    &buffer, buffer.count, h5pipe_H5P_DEFAULT())
                names.append(String(cString: buffer))
            }
            return names
        }
    }

    /// Removes the link at `path` (a dataset or a whole group). The space is not reclaimed
    /// until the file is rewritten (HDF5 does not shrink files).
    public func remove(_ path: String) throws {
        let path = normalizedPath(path)
        try withFileID { id in
            guard linkExists(fileID: id, path) else {
                throw HDF5Error.objectNotFound(file: fileName, path: path)
            }
            closeOpenDataset()
            if H5Ldelete(id, path, h5pipe_H5P_DEFAULT()) < 0 { throw libraryError(path, "remove") }
        }
    }
}
