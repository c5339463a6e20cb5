"""Deterministic realistic campaign files for benchmarks (about 50 lines each)."""

from __future__ import annotations

import random
from pathlib import Path

LABELS = ["Onboarding", "Reengage", "Promotions", "Newsletter", "Transactional", "Experiments"]

TEMPLATE = """\
# yaml-language-server: $schema=../../schemas/campaign.schema.json
name: {name}
channel: push
type: {type}
labels: [{labels}]
description: Generated campaign {i} for the benchmark
goal:
  event: Charged
  within: {goal}d
  filters:
    - {{name: Category, op: equals, value: Shoes}}
who:
  segment:
    past_behavior:
      did:
        - {{event: App Launched, within: {days}d}}
        - event: Product Viewed
          within: 30d
          count: {{op: at_least, value: 2}}
      did_not:
        - {{event: Charged, within: 14d}}
    user_properties:
      - {{name: Customer Type, op: equals, value: Platinum}}
      - {{name: Lifetime Value, op: greater_than, value: {ltv}}}
    demographics: {{age: {{min: 18, max: 65}}, gender: female}}
    geography: {{country: India, region: Karnataka, city: Bengaluru}}
    reachability: {{has_phone: true}}
  control_group:
    percent: 10
  targeting_cap: {{limit: {limit}, per: run, safety_limit: {safety}}}
what:
{what}
when:
  delivery: on_date_time
  start: 2027-0{month}-1{day}T09:00:00+05:30
  end: 2027-0{month}-2{day}T09:00:00+05:30
  preferences:
    dnd: {{from: "21:00", to: "09:00", mode: delay}}
    user_timezone: true
    ignore_global_limits: false
    respect_frequency_caps: true
    cutoff: "20:00"
"""
SINGLE = """\
  content:
    title: Hello {i}
    body: Campaign number {i} has an offer for you, {{{{Profile.first_name}}}}
    deep_link: app://offers/{i}
    image_url: https://cdn.example.com/{i}.png
    key_values: {{campaign: "{i}", source: bench}}"""
AB = """\
  variants:
    - name: A
      split: 50
      content: {{title: Offer A {i}, body: Twenty percent off today}}
    - name: B
      split: 50
      content: {{title: Offer B {i}, body: Free shipping today, deep_link: "app://b"}}"""


def write_campaigns(root: Path, count: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    (root / "campaigns").mkdir(parents=True, exist_ok=True)
    (root / "labels.yaml").write_text(
        "labels:\n" + "".join(f"  - name: {name}\n" for name in LABELS)
    )
    paths = []
    for i in range(count):
        folder = root / "campaigns" / f"team-{i % 20:02d}"
        folder.mkdir(exist_ok=True)
        ab = i % 5 == 0
        text = TEMPLATE.format(
            i=i,
            name=f"Campaign {i}",
            type="ab_test" if ab else "single_message",
            labels=", ".join(rng.sample(LABELS, 2)),
            goal=rng.randint(1, 7),
            days=rng.randint(1, 30),
            ltv=rng.randint(10, 900),
            limit=rng.randint(100, 5000),
            safety=rng.randint(6000, 90000),
            month=rng.randint(1, 9),
            day=rng.randint(0, 8),
            what=(AB if ab else SINGLE).format(i=i),
        )
        path = folder / f"campaign-{i:05d}.yaml"
        path.write_text(text)
        paths.append(path)
    return paths
