"""RoBERTa with MAE-LM's relative-position bias, as trained by maelm-fairseq (`--rel-pos 1`).

Everything is transformers' RoBERTa (post-LN layers, embedding LayerNorm, fairseq's position ids starting at
pad + 1) except one thing: every layer adds the same learned, bucketed bias table[bucket(key - query)] to its
attention scores, one value per head. The distances are those of the position ids, so padding never counts.
The bias rides in the additive attention mask, which is why eager and sdpa attention work and flash/flex do not.
"""
import torch
from transformers.models.roberta.modeling_roberta import (
    RobertaClassificationHead,
    RobertaEmbeddings,
    RobertaEncoder,
    RobertaForMaskedLM,
    RobertaForSequenceClassification,
    RobertaLMHead,
    RobertaModel,
    RobertaPooler,
    RobertaPreTrainedModel,
)

from .configuration_maelm import MaelmConfig
from .relative_position import RelativePositionBias


class MaelmPreTrainedModel(RobertaPreTrainedModel):
    config_class = MaelmConfig
    _supports_flash_attn = False  # no additive bias in these kernels
    _supports_flex_attn = False


class MaelmEncoder(RobertaEncoder):
    """RoBERTa's layers; one bias table shared by all of them."""

    def __init__(self, config):
        super().__init__(config)
        self.rel_pos_bias = RelativePositionBias(config.rel_pos_bins, config.max_rel_pos, config.num_attention_heads)

    def forward(self, hidden_states, attention_mask=None, *args, position_ids=None, **kwargs):
        bias = self.rel_pos_bias(position_ids).to(hidden_states.dtype)  # (B, H, T, T)
        if attention_mask is not None and attention_mask.dtype == torch.bool:  # sdpa's mask: True = attend
            bias = bias.masked_fill(~attention_mask, torch.finfo(bias.dtype).min / 2)
        elif attention_mask is not None:  # eager's additive mask
            bias = bias + attention_mask
        return super().forward(hidden_states, bias, *args, position_ids=position_ids, **kwargs)


class MaelmModel(MaelmPreTrainedModel, RobertaModel):
    def __init__(self, config, add_pooling_layer=True):
        MaelmPreTrainedModel.__init__(self, config)
        self.gradient_checkpointing = False
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = MaelmEncoder(config)
        self.pooler = RobertaPooler(config) if add_pooling_layer else None
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, **kwargs):
        # The bias needs the position ids, which RoBERTa otherwise makes inside its embeddings.
        if position_ids is None and input_ids is not None:
            position_ids = RobertaEmbeddings.create_position_ids_from_input_ids(input_ids, self.config.pad_token_id)
        elif position_ids is None:
            position_ids = RobertaEmbeddings.create_position_ids_from_inputs_embeds(inputs_embeds,
                                                                                   self.config.pad_token_id)
        return super().forward(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                               position_ids=position_ids, inputs_embeds=inputs_embeds, **kwargs)


class MaelmForMaskedLM(MaelmPreTrainedModel, RobertaForMaskedLM):
    def __init__(self, config):
        MaelmPreTrainedModel.__init__(self, config)
        self.roberta = MaelmModel(config, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(config)
        self.post_init()


class MaelmForSequenceClassification(MaelmPreTrainedModel, RobertaForSequenceClassification):
    def __init__(self, config):
        MaelmPreTrainedModel.__init__(self, config)
        self.num_labels = config.num_labels
        self.roberta = MaelmModel(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)
        self.post_init()


__all__ = ["MaelmModel", "MaelmForMaskedLM", "MaelmForSequenceClassification", "MaelmPreTrainedModel"]
