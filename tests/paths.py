"""Where the tests find the project and the shared reference data, whatever folder a test lives in."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FILE_LIST = SHARED_DATA / "cnmc_file_list.txt"
SAMPLE_CELL = SHARED_DATA / "cnmc_sample_cell.bmp"
REAL_CELLS = SHARED_DATA / "real_cells"
BCCD = SHARED_DATA / "bccd"  # 200 smear fields with Pascal VOC boxes (BCCD, MIT licence)
