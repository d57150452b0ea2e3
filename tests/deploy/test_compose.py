"""docker-compose.yml and the image: complete, wired as CONTRACT.md says, buildable from the lockfile."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from motcua.common import topics
from motcua.common.asyncapi import CONSUMER_GROUPS

from . import service_settings
from .service_settings import PORTS, SERVICES


@pytest.fixture(scope="module")
def compose(root: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))
    return document


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(s.split(None, 1)[0].upper(), s.split(None, 1)[1].strip()) for s in logical]


def test_compose_names_every_service_and_its_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(SERVICES) <= set(services)
    assert services["mongodb"]["image"].startswith("mongo:8")
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    for service in SERVICES:
        spec = services[service]
        assert spec["command"] == ["python", "-m", f"motcua.{service}"]
        assert spec["build"] == {"context": ".", "dockerfile": "deploy/docker/Dockerfile"}
        assert spec["ports"] == [f"127.0.0.1:{PORTS[service]}:{PORTS[service]}"]
        assert spec["depends_on"]["mongodb"] == {"condition": "service_healthy"}
        assert spec["depends_on"]["kafka-init"] == {"condition": "service_completed_successfully"}
        assert spec["read_only"] is True


def environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The service's environment as compose gives it when the shell sets only what it must: `${VAR:-default}`
    is its default, `${VAR:?why}` a value the person starting it chose, `$$` a dollar sign."""

    def interpolate(value: object) -> str:
        text = str(value).replace("$$", "\0")
        text = re.sub(r"\$\{\w+:\?[^}]*\}", "Một mật khẩu do người vận hành chọn 2026", text)
        text = re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", text)
        assert "$" not in text, f"{service}: unexpected interpolation in {value!r}"
        return text.replace("\0", "$")

    return {name: interpolate(value) for name, value in compose["services"][service]["environment"].items()}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_only_variables_the_service_reads(compose: dict[str, Any], service: str) -> None:
    assert service_settings.unread(service, compose["services"][service]["environment"]) == set()


@pytest.mark.parametrize("service", SERVICES)
def test_compose_gives_each_service_every_variable_it_must_have(compose: dict[str, Any], service: str) -> None:
    env = environment(compose, service)
    assert service_settings.missing(service, env) == set()
    assert service_settings.problems(service, env) == []
    settings = service_settings.load(service, env)
    assert settings.port == PORTS[service]
    assert settings.host == "0.0.0.0"
    assert settings.mongodb_uri.endswith("replicaSet=rs0")
    assert settings.kafka_bootstrap_servers == "kafka:19092"
    assert settings.kafka_idempotent_producer is True  # Apache Kafka has it
    assert settings.kafka_topic_prefix == ""  # kafka-init creates the topics without a prefix
    assert settings.identity_url == "http://identity:8001"


def test_compose_wires_mail_to_the_mail_catcher(compose: dict[str, Any]) -> None:
    settings = service_settings.load("notification", environment(compose, "notification")).model_dump()
    assert (settings["smtp_host"], settings["smtp_port"]) == ("mailpit", 1025)
    assert "127.0.0.1:8025:8025" in compose["services"]["mailpit"]["ports"]


def test_compose_runs_kafka_in_kraft_mode_reachable_from_the_host(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]["environment"]
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "EXTERNAL://127.0.0.1:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert compose["services"]["kafka"]["ports"] == ["127.0.0.1:9092:9092"]


def test_compose_initiates_the_mongodb_replica_set(compose: dict[str, Any]) -> None:
    mongodb = compose["services"]["mongodb"]
    assert mongodb["command"][:2] == ["--replSet", "rs0"]
    probe = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate" in probe
    assert "host: 'mongodb:27017'" in probe


def test_compose_creates_exactly_the_platforms_topics(compose: dict[str, Any]) -> None:
    script = compose["services"]["kafka-init"]["command"][0]
    lines = re.findall(r"^\s*create (\S+) (\d+) (\w+)(?: (\d+))?$", script, re.MULTILINE)
    created = {m[0]: (int(m[1]), m[2]) for m in lines}
    retention = {m[0]: int(m[3]) for m in lines if m[3]}
    consumed = {t for ts in CONSUMER_GROUPS.values() for t in ts}
    expected = {t: (topics.PARTITIONS[t], "compact" if t in topics.COMPACTED else "delete") for t in topics.ALL}
    expected |= {topics.dead_letter(t): (topics.PARTITIONS[t], "delete") for t in consumed}
    assert created == expected
    # identity's topics keep their records no longer than they matter: secrets and revocations, a day (the
    # directory is compacted: an officer's latest entry stays)
    assert retention == {
        name: int(config["retention.ms"])
        for name in created
        if name.startswith("motcua.identity.") and "retention.ms" in (config := topics.declared_config(name))
    }
    assert compose["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_every_path_the_dockerfile_copies_exists(root: Path) -> None:
    copied = []
    for instruction, args in dockerfile_instructions(root / "deploy/docker/Dockerfile"):
        if instruction != "COPY" or "--from=" in args:
            continue
        sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
        copied += sources
    assert copied
    for source in copied:
        assert (root / source).exists(), f"COPY {source}: no such path in the build context"
    assert {"pyproject.toml", "uv.lock", "libs/", "services/"} <= set(copied)


def test_the_image_runs_as_a_non_root_user_with_a_health_check(root: Path) -> None:
    instructions = dockerfile_instructions(root / "deploy/docker/Dockerfile")
    final_stage = instructions[max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM") :]
    user = [args for ins, args in final_stage if ins == "USER"]
    assert user
    assert user[-1].split(":")[0] not in {"0", "root"}
    assert any(ins == "HEALTHCHECK" for ins, _ in final_stage)
    # Nothing is compiled or installed with a package manager in the final stage.
    assert not any(ins == "RUN" and re.search(r"apt-get|pip install|uv ", args) for ins, args in final_stage)


def test_the_image_healthcheck_refuses_a_process_that_is_not_a_service(root: Path) -> None:
    script = root / "deploy/docker/healthcheck.py"
    # Outside a container PID 1 is not a Mot Cua service: the check says so and fails.
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode != 0
    assert "not a Mot Cua service" in result.stderr


def test_the_images_install_steps_work_from_the_lockfile_alone(root: Path, tmp_path: Path) -> None:
    """Replays the build stage's COPY and `uv sync` steps into a scratch directory, then imports every
    service from the environment with the source tree gone, as in the final image."""
    pinned = root / ".tools/bin/uv"
    uv = str(pinned) if pinned.exists() else shutil.which("uv")
    assert uv, "uv is needed to replay the image's install steps"
    context, venv = tmp_path / "src", tmp_path / "venv"
    context.mkdir()
    instructions = dockerfile_instructions(root / "deploy/docker/Dockerfile")
    starts = [i for i, (ins, _) in enumerate(instructions) if ins == "FROM"]
    build_stage = instructions[starts[0] : starts[1]]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": sys.executable}
    env.pop("VIRTUAL_ENV", None)
    ran = 0
    for instruction, args in build_stage:
        if instruction == "COPY":
            *sources, dest = shlex.split(args)
            for source in sources:
                if (root / source).is_dir():
                    ignore = shutil.ignore_patterns("__pycache__", "tests")
                    shutil.copytree(root / source, context / dest, ignore=ignore)
                else:
                    assert dest == "./"
                    shutil.copy2(root / source, context)
        elif instruction == "RUN" and "uv sync" in args:
            command = shlex.split(args[args.index("uv sync") :])
            result = subprocess.run(
                [uv, *command[1:]], cwd=context, env=env, capture_output=True, text=True, check=False, timeout=300
            )
            assert result.returncode == 0, result.stderr
            ran += 1
    assert ran == 2
    shutil.rmtree(context)
    imports = "; ".join(f"import motcua.{s}" for s in (*SERVICES, "common.events"))
    result = subprocess.run(
        [str(venv / "bin/python"), "-c", imports], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
