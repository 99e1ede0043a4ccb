"""zoo.plots' picture of many images: where each one lands, and the PNG it becomes."""

import numpy as np
from PIL import Image

from zoo import plots


def test_tile_puts_each_image_in_its_cell_below_its_caption_room():
    images = np.stack([np.full((4, 6, 3), 10 * (index + 1), np.uint8) for index in range(5)])
    sheet = plots.tile(images, columns=2, gap=1, caption=3)
    assert sheet.shape == (3 * (3 + 4 + 1) + 1, 2 * (6 + 1) + 1, 3)
    top, left = 1 + (3 + 4 + 1) + 3, 1 + 6 + 1  # image 3: second row, second column
    assert (sheet[top : top + 4, left : left + 6] == 40).all()
    assert (sheet[top - 3 : top, left : left + 6] == 255).all()  # its caption's room
    assert (sheet[-5:-1, left : left + 6] == 255).all()  # no sixth image


def test_an_image_grid_is_a_png_as_wide_as_its_columns(tmp_path):
    images = np.random.default_rng(0).uniform(size=(10, 16, 24, 1)).astype("float32")
    path = plots.plot_image_grid(
        images, tmp_path / "grid" / "g.png", labels=list("abcdefghij"), columns=4, title="T"
    )
    with Image.open(path) as picture:
        assert picture.width == 4 * 160  # 1.6 inches a column at 100 dpi
        assert picture.height > 3 * picture.width * 16 / 24 / 4  # three rows of images


def test_kid_figure_has_a_row_per_feature_space_and_for_image_scores_a_panel_per_measure(tmp_path):
    nan = float("nan")
    one_space = {"kid": [0.5, nan, 0.1], "kid_std": [0.1, nan, 0.05], "kid_floor": [0.0] * 3}
    one_space |= {"density": [0.2, nan, 0.8], "density_real": [1.0] * 3}
    two_spaces = one_space | {f"random_conv_{name}": v for name, v in one_space.items()}
    with Image.open(plots.plot_kid(one_space, tmp_path / "one.png")) as one:
        one_size = one.size
    with Image.open(plots.plot_kid(two_spaces, tmp_path / "two.png")) as two:
        assert two.width == one_size[0]  # KID and density: two panels a row
        assert 1.9 * one_size[1] < two.height < 2.1 * one_size[1]
    # An image score (a share of images that pass a test): a row of its own, after the spaces.
    shares = one_space | {"clean_share": [0.1, nan, 0.4], "clean_share_real": [1.0] * 3}
    with Image.open(plots.plot_kid(shares, tmp_path / "shares.png")) as with_shares:
        assert with_shares.width == one_size[0]
        assert 1.9 * one_size[1] < with_shares.height < 2.1 * one_size[1]
