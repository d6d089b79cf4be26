from sandwarden.domain.conversation import Conversation
from sandwarden.domain.values import SandboxName, SessionId, Workspace
from sandwarden.simulator.clock import VirtualClock
from sandwarden.simulator.host import SimulatedHost
from sandwarden.simulator.store import InMemoryStateStore
from sandwarden.simulator.world import World


def test_the_heal_lock_is_exclusive_until_its_lease_runs_out() -> None:
    clock = VirtualClock()
    store = InMemoryStateStore(clock)

    async def main() -> list[bool]:
        first = await store.acquire_heal_lock("a", ttl=30)
        blocked = await store.acquire_heal_lock("b", ttl=30)
        await clock.sleep(31)
        taken_over = await store.acquire_heal_lock("b", ttl=30)
        return [first.unwrap(), blocked.unwrap(), taken_over.unwrap()]

    assert clock.run(main()) == [True, False, True]


def test_conversations_are_stored_replaced_and_forgotten() -> None:
    clock = VirtualClock()
    store = InMemoryStateStore(clock)
    talk = Conversation("k", SandboxName("main"), SessionId("s1"), 0.0)

    async def main() -> tuple[object, object]:
        await store.save_conversation(talk)
        kept = (await store.conversation("k")).unwrap()
        await store.forget_conversation("k")
        await store.forget_conversation("k")
        return kept, (await store.conversation("k")).unwrap()

    assert clock.run(main()) == (talk, None)


def test_host_files_have_sizes_hashes_links_and_listings() -> None:
    world = World()
    host = SimulatedHost(world)

    host.ensure_private_dir("/b").unwrap()
    host.write_text("/b/x.tmp", "abc").unwrap()
    host.commit_file("/b/x.tmp", "/b/x.tar").unwrap()
    host.replace_link("/b/latest.tar", "x.tar").unwrap()

    assert host.list_dir("/b").unwrap() == ("latest.tar", "x.tar")
    assert host.file_size("/b/latest.tar").unwrap() == 3
    assert host.sha256("/b/x.tar").unwrap().startswith("ba7816bf")
    assert host.read_link("/b/latest.tar").unwrap() == "x.tar"
    assert host.file_size("/b/gone").failure().kind == "not_found"


def test_host_heads_come_from_the_world_and_none_means_no_repo() -> None:
    world = World()
    world.host_heads["/w"] = "c" * 40
    host = SimulatedHost(world)
    clock = VirtualClock()

    head = clock.run(host.git_head(Workspace("/w")))
    none = clock.run(host.git_head(Workspace("/elsewhere")))

    assert (head.unwrap(), none.unwrap()) == ("c" * 40, None)
