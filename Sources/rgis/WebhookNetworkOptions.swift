import ArgumentParser
import RGISCore
import RGISNotify

/// Where webhooks may go: public addresses only, and the blocks the operator names. Shared by the
/// commands that register receivers or deliver to them.
struct WebhookNetworkOptions: ParsableArguments {
    @Option(name: .customLong("allow-webhook-network"), parsing: .singleValue,
            help: ArgumentHelp("Also allow webhooks to this address block (CIDR, e.g. 127.0.0.0/8 for a receiver on this machine); repeatable. By default only public addresses are allowed.",
                               valueName: "cidr"))
    var allowed: [String] = []

    func targets() throws -> WebhookTargets {
        WebhookTargets(policy: WebhookNetworkPolicy(allowing: try allowed.map { text in
            do { return try IPNetwork(parsing: text) } catch let error as RGISError { throw error.located("--allow-webhook-network") }
        }))
    }
}
