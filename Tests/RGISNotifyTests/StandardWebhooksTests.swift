import Foundation
import RGISCore
import Testing
@testable import RGISNotify

@Suite struct StandardWebhooksTests {
    /// The test vector published with the Standard Webhooks specification (and its reference libraries).
    @Test func reproducesTheSpecificationsTestVector() throws {
        let secret = try WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let signature = StandardWebhooks.signature(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: body)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }
}
