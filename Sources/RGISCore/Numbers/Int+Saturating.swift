extension Int {
    /// `value` rounded to the nearest whole number and held within `Int`'s range (0 for NaN): for
    /// numbers that came from outside, or were derived from them, where `Int(_:)` traps on an
    /// infinity, a NaN or anything past ±9.2e18 and ends the process.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.2e18 {
            self = .max
        } else if value <= -9.2e18 {
            self = .min
        } else {
            self = Int(value.rounded())
        }
    }
}
