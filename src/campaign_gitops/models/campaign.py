"""A campaign file and the labels file; one campaign model per channel, discriminated by channel."""

from __future__ import annotations

from functools import cache, cached_property
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, cast

from pydantic import Field, TypeAdapter, ValidationError, create_model, model_validator
from pydantic_core import PydanticCustomError

from campaign_gitops.models.audience import Who
from campaign_gitops.models.common import (
    Identifier,
    LabelName,
    NonEmpty,
    Scalar,
    Strict,
    Text,
    fail,
    fail_all,
)
from campaign_gitops.models.content import CONTENT_BY_CHANNEL
from campaign_gitops.models.schedule import SCHEDULED, TRIGGERED, Goal, When

C = TypeVar("C", bound=Strict)
CampaignType = Literal["single_message", "ab_test", "user_property"]
DesiredState = Literal["draft", "active", "stopped"]
SECTIONS = ("name", "labels", "goal", "who", "what", "when")


class _Named(Strict):
    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return str(params[0].__name__).removesuffix("Content") + cls.__name__


class Variant(_Named, Generic[C]):
    name: NonEmpty
    split: int = Field(ge=1, le=99, description="Percent of the audience")
    content: C


class PropertyMessage(_Named, Generic[C]):
    value: Scalar
    content: C


class ByProperty(_Named, Generic[C]):
    property: NonEmpty = Field(description="The user property whose value picks the message")
    messages: list[PropertyMessage[C]] = Field(min_length=1)
    fallback: C | None = Field(None, description="Sent when the value matches no message")


class What(_Named, Generic[C]):
    content: C | None = Field(None, description="single_message: the message")
    variants: list[Variant[C]] = Field(
        default_factory=list, description="ab_test: 2 to 6 variants, splits summing to 100"
    )
    by_property: ByProperty[C] | None = Field(None, description="user_property: per-value messages")


class CampaignBase(Strict):
    id: Identifier | None = Field(None, description="Unique in the repo; default: the file stem")
    name: NonEmpty = Field(max_length=256, description="The name shown in the platform")
    channel: str
    type: CampaignType = "single_message"
    labels: list[LabelName] = Field(default_factory=list)
    state: DesiredState = Field("active", description="Desired intent: draft, active or stopped")
    archived: bool = False
    moved_from: Identifier | None = Field(
        None,
        description="The id this campaign had before its file was renamed: the live campaign "
        "and its record follow the new id, nothing is created or forgotten",
    )
    on_locked_change: Literal["block", "replace"] = Field(
        "block", description="A change the live status forbids: block it, or stop + clone"
    )
    ignore_changes: list[NonEmpty] = Field(
        default_factory=list, description="Field paths whose live drift is ignored"
    )
    description: Text | None = Field(None, description="For reviewers; not sent to the platform")
    goal: Goal | None = None
    who: Who = Field(default_factory=Who)
    what: What[Any]
    when: When

    CHANNEL: ClassVar[str] = ""

    @model_validator(mode="after")
    def _cross_checks(self) -> CampaignBase:
        errors = []
        if len(set(self.labels)) != len(self.labels):
            errors.append(fail("duplicate-label", "a label is listed twice", "labels"))
        shape = self._shape_problem()
        if shape is not None:
            errors.append(shape)
        cap = self.who.targeting_cap
        if cap and cap.limit is not None:
            delivery, prefs = self.when.delivery, self.when.preferences
            daily = delivery in TRIGGERED or prefs.user_timezone or prefs.best_time
            if cap.per == "run" and delivery not in SCHEDULED:
                message = (
                    "a per-run cap is for fixed-time or recurring "
                    f"campaigns, not delivery {delivery}"
                )
                errors.append(fail("targeting-cap-per", message, "who"))
            if cap.per == "day" and not daily:
                message = "a per-day cap is for best-time, user-timezone and triggered campaigns"
                errors.append(fail("targeting-cap-per", message, "who"))
        fail_all(type(self).__name__, errors)
        return self

    def _shape_problem(self) -> PydanticCustomError | None:
        """What fits the type: the first thing that does not (the later checks read what the
        earlier ones checked)."""
        what = self.what
        if self.type == "ab_test":
            if what.content is not None or what.by_property is not None:
                return fail("what-shape", "ab_test takes what.variants only", "what")
            if not 2 <= len(what.variants) <= 6:
                return fail("ab-variants", "ab_test needs 2 to 6 variants", "what")
            if sum(v.split for v in what.variants) != 100:
                return fail("ab-split-sum", "variant splits must sum to 100", "what")
            if len({v.name for v in what.variants}) != len(what.variants):
                return fail("ab-variant-names", "variant names must be distinct", "what")
        elif self.type == "user_property":
            if what.by_property is None and what.content is None and not what.variants:
                return fail("what-shape", "user_property needs what.by_property", "what")
            if what.by_property is None or what.content is not None or what.variants:
                return fail("what-shape", "user_property takes what.by_property only", "what")
        elif what.content is None and not what.variants and what.by_property is None:
            return fail("what-shape", "single_message needs what.content", "what")
        elif what.content is None or what.variants or what.by_property is not None:
            return fail("what-shape", "single_message takes what.content only", "what")
        return None

    def spec_data(self) -> dict[str, Any]:
        """The spec as JSON data: what the platform stores and what plans compare."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @property
    def content_items(self) -> list[Any]:
        what = self.what
        if what.content is not None:
            return [what.content]
        if what.by_property is not None:
            items: list[Any] = [m.content for m in what.by_property.messages]
            return items + ([what.by_property.fallback] if what.by_property.fallback else [])
        return [v.content for v in what.variants]


@cache
def campaign_model(channel: str) -> type[CampaignBase]:
    """The campaign model of one channel, built the first time it is needed: building all
    sixteen (and their generic parts) costs most of a command's start-up."""
    content = CONTENT_BY_CHANNEL[channel]
    title = "".join(part.title() for part in channel.split("_")) + "Campaign"
    model = create_model(
        title,
        __base__=CampaignBase,
        channel=(cast(Any, Literal[channel]), ...),
        what=(What[content], ...),  # type: ignore[valid-type]
    )
    model.CHANNEL = channel
    return cast(type[CampaignBase], model)


class CampaignAdapter:
    """The union of the channels' models, discriminated by `channel`. A campaign of a known
    channel is validated by its channel's model alone; anything else, and any invalid campaign,
    by the whole union, whose errors (located under the channel's tag) callers report."""

    def validate_python(self, data: Any) -> CampaignBase:
        channel = data.get("channel") if isinstance(data, dict) else None
        if isinstance(channel, str) and channel in CONTENT_BY_CHANNEL:
            try:
                return campaign_model(channel).model_validate(data)
            except ValidationError:
                pass
        return self.union.validate_python(data)

    @cached_property
    def union(self) -> TypeAdapter[CampaignBase]:
        models = tuple(campaign_model(channel) for channel in CONTENT_BY_CHANNEL)
        union = Annotated[Union[models], Field(discriminator="channel")]  # type: ignore[valid-type]  # noqa: UP007
        return TypeAdapter(cast(Any, union))

    def json_schema(self, **options: Any) -> dict[str, Any]:
        return self.union.json_schema(**options)


CAMPAIGN_ADAPTER = CampaignAdapter()


class Label(Strict):
    name: LabelName
    description: Text | None = None
    renamed_from: LabelName | None = Field(
        None, description="The label's previous name, so the plan renames instead of recreating"
    )


MAX_LABELS = 900


class LabelsFile(Strict):
    labels: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)
