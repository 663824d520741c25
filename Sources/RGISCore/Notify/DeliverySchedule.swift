import Foundation

/// When a notification goes out, in the client's time zone: instant ones at once unless that falls in
/// quiet hours (then at their end), daily ones at the next digest hour (moved past quiet hours too).
public struct DeliverySchedule: Sendable {
    public let schedule: AlertSettings.Schedule
    public let quietHours: QuietHours?
    public let timeZone: TimeZone
    private let calendar: Calendar

    public init(_ settings: AlertSettings) {
        self.init(schedule: settings.schedule, quietHours: settings.quietHours,
                  timeZone: TimeZone(identifier: settings.timeZone) ?? TimeZone(identifier: "UTC")!)
    }

    public init(schedule: AlertSettings.Schedule, quietHours: QuietHours?, timeZone: TimeZone) {
        self.schedule = schedule
        self.quietHours = quietHours
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// The first time at or after `matched` when a notification found then may be sent.
    public func due(matched: Date) -> Date {
        switch schedule {
        case .instant:
            return outsideQuietHours(matched)
        case .daily(let hour):
            var next = calendar.nextDate(after: matched.addingTimeInterval(-1), matching: DateComponents(hour: hour, minute: 0, second: 0),
                                         matchingPolicy: .nextTime) ?? matched
            if next < matched { next = matched }
            return outsideQuietHours(next)
        }
    }

    /// A digest's day: the client's local date of its due time (`2026-06-01`), so that one message goes
    /// out per local day.
    public func digestDay(due: Date) -> String? {
        guard case .daily = schedule else { return nil }
        let c = calendar.dateComponents([.year, .month, .day], from: due)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// `time`, or the end of the quiet hours it falls in.
    public func outsideQuietHours(_ time: Date) -> Date {
        guard let quietHours else { return time }  // (and no calendar work for the common case)
        let c = calendar.dateComponents([.hour, .minute], from: time)
        let minute = (c.hour ?? 0) * 60 + (c.minute ?? 0)
        guard quietHours.contains(minute: minute) else { return time }
        let end = DateComponents(hour: quietHours.endMinute / 60, minute: quietHours.endMinute % 60, second: 0)
        return calendar.nextDate(after: time, matching: end, matchingPolicy: .nextTime) ?? time
    }
}

/// When a failed delivery is tried again: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each
/// failure (the Standard Webhooks schedule), each ±10 % so that a recovering receiver is not hit by
/// every sender at once. After the last, the notification has failed.
public struct RetryPolicy: Sendable {
    public static let delaysSeconds: [Double] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    /// An endpoint failing without a success for this long is disabled.
    public static let endpointGiveUpSeconds: Double = 5 * 86400
    /// A `Retry-After` is honoured up to this long.
    public static let longestRetryAfterSeconds: Double = 36000

    /// The delay after failed attempt `attempt` (1-based), or nil when it was the last.
    /// `jitter` is in 0..<1 (0.5: no change).
    public static func delay(afterAttempt attempt: Int, jitter: Double, retryAfter: Double? = nil) -> Double? {
        guard attempt >= 1, attempt <= delaysSeconds.count else { return nil }
        if let retryAfter { return min(max(retryAfter, 1), longestRetryAfterSeconds) }
        return delaysSeconds[attempt - 1] * (0.9 + 0.2 * jitter)
    }

    public static var maximumAttempts: Int { delaysSeconds.count + 1 }
}
