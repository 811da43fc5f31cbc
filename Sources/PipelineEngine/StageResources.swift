import Foundation

/// What a stage asks of the machine that runs it: the `resources` object of a stage in the
/// pipeline file.
///
/// ```json
/// "train": { "uses": "train-autoencoder", "resources": { "cpus": 4, "memory": "8G", "time": "01:00:00" } }
/// ```
///
/// A cluster executor turns them into the job's request (`--cpus-per-task`, `--mem`, `--time`,
/// `--partition`, `--gres`). Running locally, stages ignore them, but they are validated with the
/// pipeline file all the same, so a file that runs here also submits. They are not part of the
/// cache key: a stage writes the same bytes whatever CPUs it is given.
public struct StageResources: Sendable, Hashable {
    /// CPUs of the job, which are also the stage's threads; nil leaves it to the executor.
    public var cpus: Int?
    /// Memory in MiB; nil leaves it to the executor.
    public var memoryMiB: Int?
    /// Wall-time limit in seconds; nil leaves it to the executor.
    public var timeSeconds: Int?
    /// The partition (queue) to submit to.
    public var partition: String?
    /// GPUs: a count (`"2"`) or a type and a count (`"a100:2"`), as Slurm's `--gres=gpu:…`.
    public var gpus: String?

    /// No request: everything left to the executor's defaults.
    public init(
        cpus: Int? = nil, memoryMiB: Int? = nil, timeSeconds: Int? = nil, partition: String? = nil, gpus: String? = nil
    ) {
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.timeSeconds = timeSeconds
        self.partition = partition
        self.gpus = gpus
    }

    /// True when nothing is requested.
    public var isEmpty: Bool { self == StageResources() }

    /// The keys of a `resources` object.
    static let fields = ["cpus", "memory", "time", "partition", "gpus"]

    /// `memory` as written in a pipeline file: a whole number of MiB, or a number with a unit
    /// K, M, G or T (powers of 1024, as Slurm reads `--mem`), e.g. `"512M"`, `"4G"`, `"1.5G"`.
    /// - Returns: MiB (at least 1), or nil when the text is not such a size.
    static func parseMemory(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024]
        var number = text.trimmingCharacters(in: .whitespaces)
        var factor = 1.0
        if let last = number.last?.uppercased().first, let unit = units[last] {
            factor = unit
            number.removeLast()
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value > 0
        else { return nil }
        let mebibytes = (value * factor).rounded(.up)
        guard mebibytes <= Double(Int32.max) else { return nil }
        return max(1, Int(mebibytes))
    }

    /// `time` as Slurm reads `--time`: `minutes`, `minutes:seconds`, `hours:minutes:seconds`,
    /// `days-hours`, `days-hours:minutes` or `days-hours:minutes:seconds`.
    /// - Returns: seconds (at least 1), or nil when the text is not such a duration.
    static func parseTime(_ text: String) -> Int? {
        func numbers(_ part: Substring) -> [Int]? {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            let values = fields.map { field in field.allSatisfy { $0.isASCII && $0.isNumber } ? Int(field) : nil }
            return values.contains(where: { $0 == nil }) || values.isEmpty ? nil : values.map { $0! }
        }
        let dayParts = text.split(separator: "-", omittingEmptySubsequences: false)
        var seconds: Int
        switch dayParts.count {
        case 1:
            guard let values = numbers(dayParts[0]) else { return nil }
            switch values.count {
            case 1: seconds = values[0] * 60
            case 2: seconds = values[0] * 60 + values[1]
            case 3: seconds = values[0] * 3600 + values[1] * 60 + values[2]
            default: return nil
            }
        case 2:
            guard let days = numbers(dayParts[0]), days.count == 1, let values = numbers(dayParts[1]) else {
                return nil
            }
            seconds = days[0] * 86_400
            switch values.count {
            case 1: seconds += values[0] * 3600
            case 2: seconds += values[0] * 3600 + values[1] * 60
            case 3: seconds += values[0] * 3600 + values[1] * 60 + values[2]
            default: return nil
            }
        default: return nil
        }
        return seconds > 0 ? seconds : nil
    }

    /// Seconds as Slurm's `[days-]hours:minutes:seconds`, e.g. `00:30:00` or `1-00:00:00`.
    public static func formatTime(_ seconds: Int) -> String {
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let clock = String(format: "%02d:%02d:%02d", rest / 3600, rest % 3600 / 60, rest % 60)
        return days > 0 ? "\(days)-\(clock)" : clock
    }
}

// MARK: - Validation

/// Each stage's optional `resources` object: known keys, CPUs and GPUs as counts, memory as a
/// size, time as a Slurm duration, partition as a name.
enum ResourcesValidator: PipelineValidator {
    static func check(_ validation: inout PipelineValidation) -> Bool {
        for member in validation.firstDefinitions {
            guard case .object(let fields) = member.value,
                let resources = fields.first(where: { $0.key == "resources" })
            else { continue }
            if let parsed = parse(resources, stage: member.key, &validation) {
                validation.resources[member.key] = parsed
            }
        }
        return true
    }

    /// The resources, or nil after reporting every problem in them.
    private static func parse(
        _ member: JSONMember, stage id: String, _ validation: inout PipelineValidation
    ) -> StageResources? {
        guard case .object(let fields) = member.value else {
            validation.report(
                member.location, id, "resources",
                "must be an object like {\"cpus\": 4, \"memory\": \"8G\", \"time\": \"01:00:00\"}, got \(member.value.typeDescription)"
            )
            return nil
        }
        validation.checkDuplicateKeys(fields, stageID: id, prefix: "resources.")
        var resources = StageResources()
        var valid = true
        func problem(_ field: JSONMember, _ message: String) {
            validation.report(field.location, id, "resources.\(field.key)", message)
            valid = false
        }
        for field in fields {
            switch field.key {
            case "cpus":
                if case .number(let text) = field.value, let count = Int(text), count >= 1 {
                    resources.cpus = count
                } else {
                    problem(field, "must be a whole number of CPUs, at least 1, got \(field.value.shortText())")
                }
            case "memory":
                if case .string(let text) = field.value, let mebibytes = StageResources.parseMemory(text) {
                    resources.memoryMiB = mebibytes
                } else if case .number(let text) = field.value, let mebibytes = Int(text), mebibytes >= 1 {
                    resources.memoryMiB = mebibytes
                } else {
                    problem(
                        field,
                        "must be a size like \"512M\", \"4G\" or \"1.5T\" (K, M, G, T: powers of 1024; a bare number is MiB), got \(field.value.shortText())"
                    )
                }
            case "time":
                if case .string(let text) = field.value, let seconds = StageResources.parseTime(text) {
                    resources.timeSeconds = seconds
                } else {
                    problem(
                        field,
                        "must be a duration as Slurm writes it: \"30\" (minutes), \"00:30:00\", \"2-00:00:00\" (days-hours:minutes:seconds), got \(field.value.shortText())"
                    )
                }
            case "partition":
                if case .string(let text) = field.value, !text.isEmpty,
                    text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
                {
                    resources.partition = text
                } else {
                    problem(
                        field, "must name a partition (letters, digits, '-', '_', '.'), got \(field.value.shortText())")
                }
            case "gpus":
                if case .number(let text) = field.value, let count = Int(text), count >= 0 {
                    resources.gpus = count == 0 ? nil : String(count)
                } else if case .string(let text) = field.value, isGPURequest(text) {
                    resources.gpus = text
                } else {
                    problem(
                        field,
                        "must be a count like 2 or a type and a count like \"a100:2\", got \(field.value.shortText())")
                }
            default:
                problem(field, "unknown resource" + didYouMean(field.key, among: StageResources.fields))
            }
        }
        return valid ? resources : nil
    }

    /// `2` or `a100:2`.
    private static func isGPURequest(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let count = parts.last.flatMap({ Int($0) }), count >= 1, parts.count <= 2 else { return false }
        return parts.count == 1
            || (!parts[0].isEmpty
                && parts[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
    }
}
