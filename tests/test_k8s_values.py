"""The Kubernetes deployment on paper (deploy/k8s/): the Zero to JupyterHub values file, the images'
Dockerfile and the objects the chart does not create. No cluster and no image build here (seconds):

- every key of values.yaml is a key of the chart (the list below, copied from the chart's schema);
- the limits, the exchange root, the course id, the course folder, the culler and the grader account are
  those of the one-server hub (deploy/hub/coursehub/settings.py's defaults, imported from there);
- the grader's pre-spawn hook (executed on stand-in spawners) gives the gradebook's secret to the shared
  grader account's pod only, under its own uid, and leaves every student's pod as singleuser says;
- the Dockerfile installs the hub's own student and grader configuration and removes the student
  edition's, which would otherwise keep the Assignments panel off (shown with Jupyter's own merge);
- cluster.yaml's exchange volume and network policy match what values.yaml names.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import os
import re
import shlex
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from traitlets.config import Config

from conftest import REPO

K8S = REPO / "deploy" / "k8s"
HUB_DIR = REPO / "deploy" / "hub"

# Chart `jupyterhub` 4.4.0 (zero-to-jupyterhub-k8s, tag 4.4.0; its hub image: JupyterHub 5.5.0, KubeSpawner
# 7.0.0): the keys of jupyterhub/values.schema.yaml (every `properties` entry, as a dotted path), for the
# sections values.yaml uses, copied from the schema.
CHART_VERSION = "4.4.0"
CHART_JUPYTERHUB = "5.5.0"
CHART_TOP_KEYS = ("enabled fullnameOverride nameOverride imagePullSecret imagePullSecrets hub proxy singleuser "
                  "scheduling ingress httpRoute prePuller custom cull debug rbac global").split()
CHART_KEYS = {
    "hub": """
        revisionHistoryLimit config config.JupyterHub config.JupyterHub.subdomain_host extraFiles baseUrl command args
        cookieSecret image image.name image.tag image.pullPolicy image.pullSecrets networkPolicy networkPolicy.enabled
        networkPolicy.ingress networkPolicy.egress networkPolicy.egressAllowRules
        networkPolicy.egressAllowRules.cloudMetadataServer networkPolicy.egressAllowRules.dnsPortsCloudMetadataServer
        networkPolicy.egressAllowRules.dnsPortsKubeSystemNamespace networkPolicy.egressAllowRules.dnsPortsPrivateIPs
        networkPolicy.egressAllowRules.nonPrivateIPs networkPolicy.egressAllowRules.privateIPs
        networkPolicy.interNamespaceAccessLabels networkPolicy.allowedIngressPorts db db.type db.pvc
        db.pvc.annotations db.pvc.selector db.pvc.storage db.pvc.accessModes db.pvc.storageClassName db.pvc.subPath
        db.upgrade db.url db.password labels initContainers extraEnv extraConfig fsGid service service.type
        service.ports service.ports.appProtocol service.ports.nodePort service.annotations service.extraPorts
        service.loadBalancerIP service.ipFamilyPolicy service.ipFamilies pdb pdb.enabled pdb.maxUnavailable
        pdb.minAvailable existingSecret nodeSelector tolerations activeServerLimit allowNamedServers annotations
        authenticatePrometheus concurrentSpawnLimit consecutiveFailureLimit podSecurityContext
        containerSecurityContext deploymentStrategy deploymentStrategy.rollingUpdate deploymentStrategy.type
        extraContainers extraVolumeMounts extraVolumes livenessProbe readinessProbe namedServerLimitPerUser
        redirectToServer resources lifecycle lifecycle.postStart lifecycle.preStop services services.name
        services.admin services.command services.url services.api_token services.apiToken loadRoles shutdownOnLogout
        templatePaths templateVars serviceAccount serviceAccount.create serviceAccount.name serviceAccount.annotations
        extraPodSpec""",
    "singleuser": """
        networkPolicy networkPolicy.enabled networkPolicy.ingress networkPolicy.egress networkPolicy.egressAllowRules
        networkPolicy.egressAllowRules.cloudMetadataServer networkPolicy.egressAllowRules.dnsPortsCloudMetadataServer
        networkPolicy.egressAllowRules.dnsPortsKubeSystemNamespace networkPolicy.egressAllowRules.dnsPortsPrivateIPs
        networkPolicy.egressAllowRules.nonPrivateIPs networkPolicy.egressAllowRules.privateIPs
        networkPolicy.interNamespaceAccessLabels networkPolicy.allowedIngressPorts podNameTemplate cpu cpu.limit
        cpu.guarantee memory memory.limit memory.guarantee image image.name image.tag image.pullPolicy
        image.pullSecrets initContainers profileList extraFiles extraEnv nodeSelector extraTolerations
        extraNodeAffinity extraNodeAffinity.required extraNodeAffinity.preferred extraPodAffinity
        extraPodAffinity.required extraPodAffinity.preferred extraPodAntiAffinity extraPodAntiAffinity.required
        extraPodAntiAffinity.preferred cloudMetadata cloudMetadata.blockWithIptables cloudMetadata.ip cmd defaultUrl
        events extraAnnotations extraContainers extraLabels extraPodConfig extraResource extraResource.guarantees
        extraResource.limits fsGid lifecycleHooks lifecycleHooks.postStart lifecycleHooks.preStop networkTools
        networkTools.image networkTools.image.name networkTools.image.tag networkTools.image.pullPolicy
        networkTools.image.pullSecrets networkTools.resources serviceAccountName startTimeout storage storage.capacity
        storage.dynamic storage.dynamic.pvcNameTemplate storage.dynamic.storageAccessModes
        storage.dynamic.storageClass storage.dynamic.subPath storage.dynamic.volumeNameTemplate storage.extraLabels
        storage.extraVolumeMounts storage.extraVolumes storage.homeMountPath storage.static storage.static.pvcName
        storage.static.subPath storage.type allowPrivilegeEscalation uid""",
    "cull": "enabled users adminUsers removeNamedServers timeout every concurrency maxAge",
}
KNOWN = set(CHART_TOP_KEYS) | {f"{section}.{key}" for section, keys in CHART_KEYS.items() for key in keys.split()}
# Keys whose content the chart passes through unchecked (`additionalProperties: true` in the schema, or
# hub.config's `patternProperties: ^[A-Z]`: traitlets classes): values.yaml's keys end there.
FREE_FORM = {"hub.extraConfig", "hub.loadRoles", "hub.extraEnv", "hub.services", "hub.extraFiles", "hub.labels",
             "hub.annotations", "hub.nodeSelector", "hub.templateVars", "hub.resources", "hub.extraPodSpec",
             "singleuser.extraEnv", "singleuser.extraFiles", "singleuser.nodeSelector", "singleuser.extraAnnotations",
             "singleuser.extraLabels", "singleuser.extraPodConfig", "singleuser.lifecycleHooks.postStart",
             "singleuser.lifecycleHooks.preStop", "singleuser.extraResource.limits",
             "singleuser.extraResource.guarantees", "singleuser.storage.extraLabels"}
TRAITLETS_CLASS = re.compile(r"^hub\.config\.[A-Z]\w*$")


def unknown_keys(values: dict, prefix: str = "") -> list[str]:
    """Dotted paths in `values` that are no key of the chart (lists are values: their items are not keys)."""
    bad = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in FREE_FORM or TRAITLETS_CLASS.match(path):
            continue
        if path not in KNOWN:
            bad.append(path)
        elif isinstance(value, dict):
            bad += unknown_keys(value, path + ".")
    return bad


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((K8S / "values.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hub():
    """The one-server hub's modules (deploy/hub/coursehub), imported from their files when first needed."""
    if str(HUB_DIR) not in sys.path:
        sys.path.insert(0, str(HUB_DIR))
    settings = importlib.import_module("coursehub.settings")
    return SimpleNamespace(settings=settings.from_env({}), parse_size=settings.parse_size,
                           services=importlib.import_module("coursehub.services"),
                           homes=importlib.import_module("coursehub.homes"))


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined, comments dropped)."""
    stages, current = {}, None
    text = re.sub(r"\\\n", " ", (K8S / "Dockerfile").read_text(encoding="utf-8"))
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM \S+ AS (\w+)$", line)
        if m:
            current = stages.setdefault(m.group(1), [])
        elif current is not None:
            current.append(line)
    return stages


def instruction(stage: list[str], word: str) -> list[str]:
    return [line[len(word) + 1:] for line in stage if line.startswith(word + " ")]


def env_of(stage: list[str]) -> dict[str, str]:
    out = {}
    for line in instruction(stage, "ENV"):
        for part in shlex.split(line):
            key, _, value = part.partition("=")
            out[key] = value
    return out


# ------------------------------------------------------------------ the chart's keys

def test_every_key_of_values_yaml_is_a_key_of_the_chart(values):
    assert unknown_keys(values) == [], f"不是 chart {CHART_VERSION} 的键"
    assert set(values) <= set(CHART_TOP_KEYS)


def test_the_key_check_catches_a_misspelt_key():
    assert unknown_keys({"singleuser": {"memory": {"limt": "2G"}}}) == ["singleuser.memory.limt"]
    assert unknown_keys({"singleuser": {"defaultURL": "/lab"}}) == ["singleuser.defaultURL"]
    assert unknown_keys({"hub": {"config": {"nativeAuthenticator": {"open_signup": False}}}}) == [
        "hub.config.nativeAuthenticator"]
    assert unknown_keys({"cull": {"timeout": 3600}, "hub": {"config": {"NativeAuthenticator": {"x": 1}}}}) == []


def test_every_extra_config_snippet_is_python(values):
    for name, code in values["hub"]["extraConfig"].items():
        compile(code, f"hub.extraConfig.{name}", "exec")


# ------------------------------------------------------------------ the same settings as the one-server hub

def test_limits_are_the_hubs_defaults_and_guarantees_fit_under_them(values, hub):
    from jupyterhub.traitlets import ByteSpecification  # what KubeSpawner's mem_limit parses "2G" with

    s, su = hub.settings, values["singleuser"]
    to_bytes = ByteSpecification().validate(None, su["memory"]["limit"])
    assert to_bytes == s.memory == hub.parse_size(su["memory"]["limit"], "memory.limit")
    assert float(su["cpu"]["limit"]) == s.cpu
    guarantee = ByteSpecification().validate(None, su["memory"]["guarantee"])
    assert 0 < guarantee <= s.memory and 0 < su["cpu"]["guarantee"] <= s.cpu
    # torch's threads: as the hub sets them for its users (services.user_environment).
    assert su["extraEnv"]["OMP_NUM_THREADS"] == str(max(1, math.ceil(s.cpu)))


def test_exchange_course_and_folder_are_the_hubs(values, hub):
    s, su = hub.settings, values["singleuser"]
    hub_env = hub.services.user_environment(s, s.python, HUB_DIR / "student")
    for var in ("RNNLAB_EXCHANGE_ROOT", "RNNLAB_COURSE_ID"):
        assert su["extraEnv"][var] == hub_env[var]
    assert hub_env["RNNLAB_EXCHANGE_ROOT"] == str(s.exchange)
    mounts = {m["name"]: m["mountPath"] for m in su["storage"]["extraVolumeMounts"]}
    assert mounts["nbgrader-exchange"] == str(s.exchange)
    # the student's nbgrader reads exactly these two variables
    student_config = (HUB_DIR / "student" / "nbgrader_config.py").read_text(encoding="utf-8")
    assert 'os.environ.get("RNNLAB_EXCHANGE_ROOT"' in student_config and 'os.environ.get("RNNLAB_COURSE_ID"' in student_config
    assert values["singleuser"]["defaultUrl"] == "/lab"
    copy_command = " ".join(su["lifecycleHooks"]["postStart"]["exec"]["command"])
    assert f'$HOME/{s.course_folder}' in copy_command and f'$HOME/{hub.homes.STAMP}' in copy_command
    assert "cp -Rn" in copy_command  # never overwrites what the student has


def test_culler_is_the_hubs(values, hub):
    service, _ = hub.services.idle_culler(hub.settings)
    args = dict(a.lstrip("-").split("=") for a in service["command"] if a.startswith("--"))
    assert values["cull"]["enabled"] is True
    assert values["cull"]["timeout"] == int(args["timeout"]) == hub.settings.cull_timeout
    assert values["cull"]["every"] == int(args["cull-every"])


def test_graders_group_and_account_are_the_hubs(values, hub):
    s = hub.settings
    group = hub.services.formgrader_group(s)
    # the hub creates the account from the group (graders start and use its server; nobody signs in as it)
    assert s.grader_account in values["hub"]["config"]["JupyterHub"]["load_groups"][group]["users"]
    role = values["hub"]["loadRoles"][group]
    assert role["groups"] == [group]
    assert f"access:servers!user={s.grader_account}" in role["scopes"]
    assert f'RNNLAB_GRADER = "{s.grader_account}"' in values["hub"]["extraConfig"]["rnnlab-grader"]


def test_native_authenticator_as_on_the_hub_with_its_templates(values):
    config = values["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "nativeauthenticator.NativeAuthenticator"
    assert config["NativeAuthenticator"]["open_signup"] is False
    c = Config()
    exec(values["hub"]["extraConfig"]["rnnlab-native-templates"], {"c": c})
    (templates,) = c.JupyterHub.template_paths
    assert {"signup.html", "native-login.html", "authorization-area.html"} <= set(os.listdir(templates))


# ------------------------------------------------------------------ the grader's pod, and only it

def stand_in_spawner(values, name: str) -> SimpleNamespace:
    """What KubeSpawner holds for a user before the pre-spawn hook, from singleuser's settings."""
    su = values["singleuser"]
    return SimpleNamespace(user=SimpleNamespace(name=name), image=f"{su['image']['name']}:{su['image']['tag']}",
                           uid=1000, environment=dict(su["extraEnv"]), cmd=["jupyterhub-singleuser"],
                           extra_labels={"hub.jupyter.org/network-access-hub": "true"}, notebook_dir=None,
                           default_url=su["defaultUrl"], cpu_limit=su["cpu"]["limit"],
                           cpu_guarantee=su["cpu"]["guarantee"], mem_limit=su["memory"]["limit"],
                           mem_guarantee=su["memory"]["guarantee"], container_security_context={})


@pytest.fixture(scope="module")
def pre_spawn_hook(values):
    c = Config()
    exec(values["hub"]["extraConfig"]["rnnlab-grader"], {"c": c})
    return c.KubeSpawner.pre_spawn_hook


def test_students_pods_are_left_as_singleuser_says_and_never_see_the_gradebook(values, pre_spawn_hook):
    for name in ("s2026001", "grader", "grader-rnnlab2", "admin"):
        spawner = stand_in_spawner(values, name)
        before = copy.deepcopy(vars(spawner))
        pre_spawn_hook(spawner)
        assert vars(spawner) == before, name
    text = yaml.safe_dump(values["singleuser"])
    assert "RNNLAB_DB_URL" not in text and "PGPASSWORD" not in text and "rnnlab-gradebook" not in text


def test_the_grader_pod_gets_the_gradebook_its_uid_image_and_config(values, hub, pre_spawn_hook):
    spawner = stand_in_spawner(values, hub.settings.grader_account)
    pre_spawn_hook(spawner)
    env = spawner.environment
    assert env["RNNLAB_DB_URL"] == {"valueFrom": {"secretKeyRef": {"name": "rnnlab-gradebook", "key": "url"}}}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "rnnlab-gradebook"
    assert env["RNNLAB_EXCHANGE_ROOT"] == str(hub.settings.exchange)  # singleuser's variables kept
    grader = dockerfile_stages()["grader"]
    assert env["JUPYTER_CONFIG_PATH"] == env_of(grader)["JUPYTER_CONFIG_PATH"]
    assert spawner.uid != 1000 and f"--uid {spawner.uid}" in " ".join(instruction(grader, "RUN"))
    assert spawner.image.split(":")[0].endswith("/grader")
    assert spawner.cmd[:2] == ["bash", "-c"] and "exec jupyterhub-singleuser" in spawner.cmd[2]
    assert f"cd {spawner.notebook_dir}" in spawner.cmd[2]
    assert spawner.extra_labels["hub.jupyter.org/network-access-hub"] == "true"
    policy = next(d for d in cluster_objects() if d["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= spawner.extra_labels.items()


# ------------------------------------------------------------------ the images

def test_dockerfile_copies_only_what_exists_and_the_hubs_configuration(values):
    stages = dockerfile_stages()
    assert {"edition", "runtime", "student", "grader"} <= set(stages)
    for name, stage in stages.items():
        for line in instruction(stage, "COPY"):
            if line.startswith("--from="):
                continue
            *sources, _dest = line.split()
            for src in sources:
                assert (REPO / src).exists(), f"{name}: COPY {src}"
    for name in ("student", "grader"):
        copies = {src.rstrip("/"): parts[-1].rstrip("/") for parts in map(str.split, instruction(stages[name], "COPY"))
                  for src in parts[:-1]}
        assert copies[f"deploy/hub/{name}"] == env_of(stages[name])["JUPYTER_CONFIG_PATH"]
    runtime = " ".join(instruction(stages["runtime"], "RUN"))
    assert "student-edition" in " ".join(instruction(stages["edition"], "RUN"))
    assert "--index-url \"$TORCH_INDEX\"" in runtime and "pip check" in runtime
    assert "/opt/rnnlab/student-edition/." in " ".join(values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"])
    assert "COPY --from=edition /edition /opt/rnnlab/student-edition" in stages["runtime"]


def test_users_jupyterhub_has_the_charts_major_version():
    args = dict(line.split("=", 1) for line in instruction(dockerfile_stages()["runtime"], "ARG"))
    assert args["JUPYTERHUB_VERSION"].split(".")[0] == CHART_JUPYTERHUB.split(".")[0]


def test_the_editions_settings_would_hide_the_assignments_panel_so_the_image_removes_them(tmp_path):
    """The student edition switches nbgrader's Assignments panel off (a laptop has no exchange); Jupyter
    merges labconfig from every config folder, so deploy/hub/student/ alone cannot switch it back on."""
    proc = subprocess.run([sys.executable, "-m", "rnnlab.grading", "student-edition", "--out", str(tmp_path / "ed")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    edition_etc = tmp_path / "ed" / "etc" / "jupyter"
    show = ("import json; from jupyter_server.services.config.manager import ConfigManager; "
            "print(json.dumps(ConfigManager(config_dir_name='labconfig').get('page_config')))")

    def disabled(*config_path) -> dict:
        env = {**os.environ, "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, config_path))}
        out = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout).get("disabledExtensions", {})

    panel = "@jupyter/nbgrader:assignment-list"
    assert disabled(HUB_DIR / "student", edition_etc).get(panel) is True
    assert not disabled(HUB_DIR / "student").get(panel)
    removed = " ".join(instruction(dockerfile_stages()["runtime"], "RUN"))
    for f in edition_etc.rglob("*.json"):
        assert f"$VIRTUAL_ENV/etc/jupyter/{f.relative_to(edition_etc).as_posix()}" in removed


# ------------------------------------------------------------------ what the chart does not create

def cluster_objects() -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / "cluster.yaml").read_text(encoding="utf-8")) if d]


def test_the_exchange_is_one_read_write_many_volume_with_a_1777_root(values):
    objects = {d["kind"]: d for d in cluster_objects()}
    pvc = objects["PersistentVolumeClaim"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    (volume,) = [v for v in values["singleuser"]["storage"]["extraVolumes"] if v["name"] == "nbgrader-exchange"]
    assert volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    job = objects["Job"]["spec"]["template"]["spec"]
    assert job["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert "chmod 1777 /exchange" in " ".join(job["containers"][0]["command"])
    assert job["containers"][0]["volumeMounts"][0]["mountPath"] == "/exchange"
