@testable import RingGateway
import Testing

@Suite("Send queue policy")
struct SendQueuePolicyTests {
    let limit = 1000

    @Test("an empty queue takes any one message; a queue with data takes what fits under the limit")
    func fits() {
        let policy = SendQueuePolicy(limit: limit, slowClients: .close)
        #expect(policy.fits(50_000, behind: 0))
        #expect(policy.fits(400, behind: 600))
        #expect(!policy.fits(401, behind: 600))
        #expect(!policy.fits(1, behind: 1000))
    }

    @Test("only drop drops: what exceeds the limit, at least the message's size")
    func drops() {
        let drop = SendQueuePolicy(limit: limit, slowClients: .drop)
        #expect(drop.bytesToDrop(for: 300, behind: 900) == 200)
        #expect(drop.bytesToDrop(for: 100, behind: 200) == 100)
        #expect(drop.fits(300, behind: 700))
        #expect(!drop.fits(301, behind: 700))
        #expect(drop.fits(5000, behind: 0), "an emptied queue takes even a message above the limit")
        for other in [SlowClientPolicy.close, .pause] {
            #expect(SendQueuePolicy(limit: limit, slowClients: other).bytesToDrop(for: 300, behind: 900) == nil)
        }
    }

    @Test("pause stops reading past half the limit and resumes under a quarter; others never pause")
    func pauseAndResume() {
        let pause = SendQueuePolicy(limit: limit, slowClients: .pause)
        #expect(!pause.pausesReading(queued: 500))
        #expect(pause.pausesReading(queued: 501))
        #expect(!SendQueuePolicy(limit: limit, slowClients: .close).pausesReading(queued: 900))
        #expect(pause.resumes(with: 249) && !pause.resumes(with: 250))
        #expect(pause.isSlow(with: 501) && !pause.isSlow(with: 500))
    }
}
