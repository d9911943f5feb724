"""The demo model's tokenizer, processor and architecture (Idefics3 / SmolVLM family, scaled down).

- Tokenizer: byte-level BPE trained on the scene captions, prompts and fixed UI words, with SmolLM2's
  pre-tokenizer (single digits, then GPT-2 byte-level regex) and SmolVLM's special tokens. Dialog texts are
  deliberately left out of the training text so random words are spelled with short pieces.
- Image processor: SmolVLM's settings (LANCZOS, rescale 1/255, mean = std = 0.5, padding) scaled to one
  224 px tile with do_image_splitting=False: every image becomes a single global view of 224x224,
  (224/16)^2 = 196 patches, pixel shuffle x2 -> 49 image tokens.
- Model: Idefics3ForConditionalGeneration with a 4-layer SigLIP-style vision tower (width 192) and a 4-layer
  Llama decoder (width 256, 4 heads / 2 KV heads, tied embeddings).
"""

import data

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessorPil,
                          Idefics3Processor, LlamaConfig, PreTrainedTokenizerFast)
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

IMAGE_SIZE = data.IMAGE_SIZE
PATCH_SIZE = 16
SCALE_FACTOR = 2
IMAGE_SEQ_LEN = (IMAGE_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR ** 2  # 49
BPE_VOCAB = 640  # before the added image tokens
LEADING_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
IMAGE_SPECIALS = (["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>"]
                  + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)])


def tokenizer_corpus():
    """Every template text the tokenizer should encode compactly (no dialog texts)."""
    import random
    lines = []
    rng = random.Random("tokenizer-corpus")
    for _ in range(4000):
        groups = data.random_groups(rng)
        lines += [data.caption_en(groups), data.caption_ko(groups), data.count_answer(groups, False),
                  data.count_answer(groups, True)]
    prompts = (data.SCENE_PROMPTS_EN + [data.SCENE_PROMPT_KO, data.COUNT_PROMPT_EN, data.COUNT_PROMPT_KO]
               + data.DIALOG_PROMPTS_EN + [data.DIALOG_PROMPT_KO, data.BUTTON_PROMPT_EN, data.BUTTON_PROMPT_KO])
    lines += [f"User: {p}\nAssistant:" for p in prompts] * 50
    lines += [" ".join(data.TITLES + data.BUTTONS)] * 20
    return lines


def build_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB, min_frequency=2, special_tokens=LEADING_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(tokenizer_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                                   pad_token="<|im_end|>", unk_token="<|endoftext|>",
                                   additional_special_tokens=IMAGE_SPECIALS, model_max_length=512)
    fast.add_special_tokens({"additional_special_tokens": IMAGE_SPECIALS})
    fast.chat_template = DEFAULT_CHAT_TEMPLATE
    return fast


def build_processor():
    tokenizer = build_tokenizer()
    image_processor = Idefics3ImageProcessorPil(
        do_resize=True, size={"longest_edge": IMAGE_SIZE}, max_image_size={"longest_edge": IMAGE_SIZE},
        do_image_splitting=False, resample=1, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_pad=True, do_convert_rgb=True)
    return Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=IMAGE_SEQ_LEN,
                             chat_template=DEFAULT_CHAT_TEMPLATE)


def build_model(tokenizer):
    vision = Idefics3VisionConfig(hidden_size=192, intermediate_size=768, num_hidden_layers=6, num_attention_heads=3,
                                  image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, layer_norm_eps=1e-6,
                                  hidden_act="gelu_pytorch_tanh")
    ids = tokenizer.convert_tokens_to_ids
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=2, head_dim=64, rms_norm_eps=1e-5,
                       rope_theta=100000.0, max_position_embeddings=512, tie_word_embeddings=True,
                       bos_token_id=ids("<|im_start|>"), eos_token_id=ids("<end_of_utterance>"),
                       pad_token_id=ids("<|im_end|>"), hidden_act="silu")
    config = Idefics3Config(vision_config=vision, text_config=text, scale_factor=SCALE_FACTOR,
                            image_token_id=ids("<image>"), tie_word_embeddings=True,
                            pad_token_id=ids("<|im_end|>"))
    model = Idefics3ForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids("<end_of_utterance>")
    model.generation_config.pad_token_id = ids("<|im_end|>")
    model.generation_config.bos_token_id = ids("<|im_start|>")
    return model


def prompt_text(processor, prompt):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True)
