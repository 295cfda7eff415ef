"""How loud the co-occurrence prior is against the encoder after a few epochs (the lags-5 stall on ML-100K).

Trains the forecaster with the prior for EPOCHS epochs (no item text, seed 0, 1 thread) for each number of lags,
then, on the first 512 validation histories, prints the per-lag weights, the gate, and the spread of the prior's
and the encoder's logits at the last position.

    OPENBLAS_NUM_THREADS=1 python diag_prior_scale.py ml-100k 4 3,5
"""

import sys

import torch
import torch.nn.functional as F

from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.splits import make_split
from evorec.tools.models import create_model
from evorec.tools.models.torch_trainer import last_hidden, seed_everything

torch.set_num_threads(1)
data = SequenceData.from_dataset(load_dataset(sys.argv[1]))
split = make_split(data, "loo")
for lags in [int(x) for x in sys.argv[3].split(",")]:
    seed_everything(0)
    m = create_model("forecaster", cooc_prior=True, cooc_lags=lags, use_text=False, train={"epochs": int(sys.argv[2])})
    m.fit(split.train, split.valid, seed=0, progress=False)
    net = m._net()
    net.eval()
    with torch.no_grad():
        _, h, b = next(iter(last_hidden(net, split.valid.histories[:512], 200, torch.device("cpu"), 512)))
        g = net.cooc.gate(h.float()).squeeze(-1)
        prior = net.cooc(h, b, None)
        enc = net.item_logits(h, b) - prior
    print(f"lags {lags}: softplus(lag_w)={[round(x, 3) for x in F.softplus(net.cooc.lag_w).tolist()]} "
          f"gate mean {g.mean():.3f} sd {g.std():.3f}")
    print(f"  prior: row max {prior.max(1).values.mean():.2f}, row sd {prior.std(1).mean():.3f}; "
          f"encoder: row max - mean {(enc.max(1).values - enc.mean(1)).mean():.2f}, row sd {enc.std(1).mean():.3f}")
