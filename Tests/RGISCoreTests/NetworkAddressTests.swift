import Testing
import RGISCore

/// Webhook targets: every spelling of an internal address is read as that address and refused; public
/// ones pass; an operator's allowed block opens exactly that block.
@Suite("Webhook addresses")
struct NetworkAddressTests {
    static let internalAddresses: [(String, String)] = [
        ("127.0.0.1", "loopback"), ("127.1", "loopback"), ("0x7f000001", "loopback"), ("2130706433", "loopback"),
        ("0177.0.0.1", "loopback"), ("0x7f.0.0.1", "loopback"), ("127.0.0.1.", "loopback"), ("[::1]", "loopback"), ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"), ("[::ffff:7f00:1]", "loopback"), ("64:ff9b::127.0.0.1", "loopback"), ("2002:7f00:1::", "loopback"),
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("10.0.0.1", "private"), ("172.16.5.4", "private"),
        ("192.168.1.1", "private"), ("fd12:3456::1", "private"), ("100.64.0.1", "shared (CGNAT)"), ("0.0.0.0", "unspecified"),
        ("0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("255.255.255.255", "reserved"),
        ("::ffff:10.1.2.3", "private"), ("::ffff:169.254.169.254", "link-local"),
    ]

    @Test("internal addresses in every notation are refused, naming their kind", arguments: internalAddresses)
    func refused(_ literal: String, kind: String) throws {
        let address = try #require(IPAddress(literal: literal), "\(literal) reads as an address")
        #expect(WebhookNetworkPolicy().refusal(address)?.hasPrefix(kind) == true, "\(literal) → \(address): \(WebhookNetworkPolicy().refusal(address) ?? "allowed")")
    }

    @Test("public addresses pass", arguments: ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "[2001:4860:4860::8888]", "::ffff:8.8.8.8"])
    func allowed(_ literal: String) throws {
        let address = try #require(IPAddress(literal: literal))
        #expect(WebhookNetworkPolicy().refusal(address) == nil, "\(literal)")
    }

    @Test("host names and malformed literals are not addresses", arguments: ["example.com", "crm.test", "1.2.3.4.5", "256.1.1.1", "0x1ffffffff",
                                                                             "1::2::3", ":::", "fe80::1%eth0", "12345:1::", "08.1.1.1", ""])
    func notAnAddress(_ text: String) {
        #expect(IPAddress(literal: text) == nil, "\(text)")
    }

    @Test("an allowed block opens that block only, also for an IPv4 inside IPv6")
    func allowedBlock() throws {
        let policy = WebhookNetworkPolicy(allowing: [try IPNetwork(parsing: "127.0.0.0/8")])
        #expect(policy.refusal(try #require(IPAddress(literal: "127.0.0.1"))) == nil)
        #expect(policy.refusal(try #require(IPAddress(literal: "::ffff:127.0.0.1"))) == nil)
        #expect(policy.refusal(try #require(IPAddress(literal: "::1"))) != nil)
        #expect(policy.refusal(try #require(IPAddress(literal: "10.0.0.1"))) != nil)
        #expect(throws: RGISError.self) { try IPNetwork(parsing: "127.0.0.0/33") }
        #expect(throws: RGISError.self) { try IPNetwork(parsing: "localhost/8") }
    }

    @Test("webhook URLs with a user name or password, or not http(s), are refused where they are read")
    func urlForm() {
        for url in ["http://user:pass@example.com/hook", "http://user@example.com/", "ftp://example.com/", "http:///x", "http://exa mple.com/",
                    "javascript:alert(1)", "http://example.com/\u{0}"] {
            #expect(throws: RGISError.self, "\(url)") { try AlertSettings.checkWebhook(url: url, at: "webhook") }
        }
        #expect(throws: Never.self) { try AlertSettings.checkWebhook(url: "https://crm.example.com/hooks?agent=7", at: "webhook") }
    }
}
