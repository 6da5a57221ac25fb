"""Write the tutorial notebooks in examples/ from the cell lists below (run: python examples/_src/build.py).

Each tutorial is a list of ("md" | "code", text) cells; the journey tests run every code cell as a real user.
"""

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parents[1]

SETUP = """%matplotlib inline
import warnings
from pathlib import Path
from urllib.parse import urlparse

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.coordinates import SkyCoord

import platform_lib

settings = platform_lib.get_settings()
archive = settings.archive_url.rstrip('/') + '/'  # the archive's address for code running on the platform
# In your browser the archive has a page of its own (its images, catalogues and example queries), on the
# address this JupyterLab is on: replace /user/... in the address bar with the path below.
print('the archive in your browser:', urlparse(archive).path)"""

GETTING_STARTED = [
    ("md", "# Getting started on astrohub\n\nWhere your files go, how much room you have, and how to get a Dask cluster "
           "next to the data. Run the cells in order (Shift-Enter). These tutorials are your own copies: edit them "
           "freely, the platform never overwrites a tutorial you changed."),
    ("md", "## Your storage\n\n`platform_lib.get_settings()` tells you where each space is: your private **home**, one "
           "folder per **group** you belong to (shared with its members), the read-only **datasets** area (the "
           "platform's catalogues and images), and **scratch** for large temporary files."),
    ("code", """from pathlib import Path

import platform_lib

settings = platform_lib.get_settings()
print('user:    ', settings.user)
print('groups:  ', settings.groups)
print('home:    ', settings.home)
print('groups at', settings.groups_root)
print('datasets:', settings.datasets)
print('scratch: ', settings.scratch)"""),
    ("code", """notes = Path(settings.home) / 'getting-started.txt'
notes.write_text('my first astrohub file\\n')
print(notes.read_text(), end='')"""),
    ("code", """for group in settings.groups:
    folder = Path(settings.groups_root) / group
    print(group, '->', folder, '(exists)' if folder.exists() else '(being created)')
if not settings.groups:
    print("you are in no group yet: when your platform's administrator or instructor adds you to one, "
          "its shared folder appears here")"""),
    ("md", "## How much room: usage and quotas\n\n`Storage().usage()` gives the bytes and files used in each space, "
           "against its quota (`None`: no quota)."),
    ("code", """%matplotlib inline
import matplotlib.pyplot as plt
from platform_lib.storage import Storage

usage = Storage().usage()
width = max(map(len, usage))
for name, use in usage.items():
    quota = 'no quota' if use.quota is None else f'quota {use.quota / 1e9:.1f} GB'
    print(f'{name:<{width}} {use.used / 1e6:9.2f} MB in {use.files} files, {quota}')
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(usage), [u.used / 1e6 for u in usage.values()])
ax.set_xlabel('MB used')
ax.set_title('your spaces')
plt.show()"""),
    ("md", "## A Dask cluster\n\n`platform_lib.gateway.cluster()` starts a cluster on the platform's Dask gateway "
           "(its address and your login come from the environment; dask-gateway's own `Gateway().new_cluster()` works "
           "too). Run the cell again and it returns the cluster this kernel started, still running, instead of leaving "
           "that one running beside a second (asked for other options, it stops that one first); it prints which. "
           "Your clusters are listed in JupyterLab's Dask panel. A cluster runs until you shut it "
           "down (the last cell of this notebook does) or until it has run no task for a while (30 minutes unless "
           "your platform says otherwise): then the platform stops it, even while this notebook still shows it."),
    ("code", """from platform_lib import gateway

cluster = gateway.cluster(workers=1)  # run again: this kernel's cluster, not a second one
client = cluster.get_client()
client.wait_for_workers(1, timeout=120)
cluster"""),
    ("code", """import dask.array as da

x = da.random.default_rng(42).normal(size=(2000, 2000), chunks=(500, 500))
mean = float(x.mean().compute())
print(f'mean of 4 million normal draws: {mean:.4f}')
counts, edges = da.histogram(x, bins=40, range=(-4, 4))
fig, ax = plt.subplots(figsize=(6, 3))
ax.stairs(counts.compute(), edges)
ax.set_xlabel('value'); ax.set_ylabel('draws per bin')
ax.set_title('computed on your Dask cluster')
plt.show()"""),
    ("md", "## Share your cluster with your group\n\nA cluster is yours alone until you share it with one of your "
           "groups. Then its members find it with `platform_lib.gateway.shared_clusters()`, connect with "
           "`Gateway().connect(name).get_client()` and open its dashboard; only you stop or scale it. Their tasks "
           "run on your workers, as you: share only with people you would let use your files. "
           "`unshare_cluster` makes it yours alone again (leaving the group does too)."),
    ("code", """from platform_lib.gateway import share_cluster, unshare_cluster

if settings.groups:
    share_cluster(cluster, settings.groups[0])
    print('cluster shared with', settings.groups[0])
    unshare_cluster(cluster)
    print('and yours alone again')
else:
    print('you are in no group yet: nobody to share with')"""),
    ("code", """client.close()
cluster.shutdown()"""),
]

IMAGES = [
    ("md", "# Images: search the archive, download, look\n\nThe platform's archive serves its FITS images over "
           "SIA v2 (an IVOA standard, so any VO client works). A fresh platform holds a few real sample images "
           "(M1, M13, M51, NGC 1316, SA 110, the Galactic plane)."),
    ("code", SETUP),
    ("md", "## Which images cover the Crab Nebula (M1)?"),
    ("code", """from platform_lib.retrieval import image_search

m1 = SkyCoord(83.633, 22.0145, unit='deg')
found = image_search(m1, 0.2 * u.deg)
if not len(found):  # another target, and no image covers it: say so, and where the archive's images are
    raise LookupError(f'no image in the archive covers {m1.to_string()} (within 0.2 deg); its images: '
                      + ', '.join(f"{r['obs_id']} ({r['s_ra']:.2f} {r['s_dec']:+.2f})" for r in image_search()))
found['obs_id', 'obs_collection', 'facility_name', 'instrument_name', 's_ra', 's_dec', 's_fov']"""),
    ("md", "## Download one and show it with its sky coordinates\n\nThe archive's download needs your login, which "
           "the platform's session adds for you."),
    ("code", """from astropy.io import fits
from astropy.wcs import WCS
from platform_lib.retrieval import make_session

session = make_session(settings)
dss = found[found['obs_collection'] == 'DSS']
record = (dss if len(dss) else found)[0]  # a DSS plate where one covers the target, else the first image
response = session.get(record['access_url'], timeout=60)
response.raise_for_status()
path = Path(settings.home) / 'm1_dss.fits'
path.write_bytes(response.content)
with fits.open(path) as hdul:
    hdu = next(h for h in hdul if h.data is not None and h.data.ndim == 2)
    data, header = hdu.data.copy(), hdu.header
# astropy rewrites this 1951 plate's old-style DATE-OBS ('08/11/51') and says so: nothing to act on
from astropy.wcs import FITSFixedWarning
with warnings.catch_warnings():
    warnings.simplefilter('ignore', FITSFixedWarning)
    wcs = WCS(header)
print(path, data.shape)"""),
    ("code", """from astropy.visualization import ImageNormalize, ZScaleInterval

fig = plt.figure(figsize=(6, 6))
ax = fig.add_subplot(projection=wcs)
ax.imshow(data, cmap='gray', origin='lower', norm=ImageNormalize(data, interval=ZScaleInterval()))
ax.coords.grid(color='white', alpha=0.3)
ax.set_xlabel('RA'); ax.set_ylabel('Dec')
# the footprints of every image the search found, drawn on this one
for row in found:
    r = row['s_fov'] / 2
    circle = plt.Circle((row['s_ra'], row['s_dec']), r, transform=ax.get_transform('icrs'),
                        fill=False, color='tab:orange', lw=1.5)
    ax.add_patch(circle)
ax.set_title('M1 (DSS) with the footprints of the search results')
plt.show()"""),
    ("md", "## The whole archive on one sky map"),
    ("code", """from platform_lib import viz

everything = image_search()
everything['name'] = [str(obs_id).split('/')[-1] for obs_id in everything['obs_id']]
# each image's name beside it, where it overlaps no other text; images of one field share a label
viz.plot_table(everything, ra='s_ra', dec='s_dec', label='name', color='tab:red',
               title=f'{len(everything)} images in the archive (RA increases to the left)')"""),
    ("md", "## Your own images\n\nFITS files of your own, in your home or your group's folder, get an index of "
           "their own: `index_folder` reads their headers once (a second run reads only new and changed files), "
           "keeps the index beside them with the folder's permissions (nobody else reads it), and says which files "
           "it skipped and why. Here a folder holds the plate downloaded above, two sample images and a note."),
    ("code", """import shutil
from astropy.time import Time
from platform_lib.imageindex import index_folder

folder = Path(settings.home) / 'myimages'
folder.mkdir(exist_ok=True)
shutil.copy(path, folder / 'm1_dss.fits')  # the plate downloaded above
for name in ('m1_ukidss_wfcam', 'sa110_apogee'):  # two of the sample images everyone may read
    shutil.copy(Path(settings.datasets) / 'images' / 'sample' / f'{name}.fits', folder)
(folder / 'notes.txt').write_text('seeing 1.2 arcsec')
mine = index_folder(folder)
print(mine)
mine.skipped"""),
    ("code", """crab = mine.search(m1, 5 * u.arcmin)  # the images meeting a 5' cone round M1 (no radius: holding the point)
print(len(crab), 'images of mine hold M1:', ', '.join(crab['obs_id']))
recent = mine.search(time=Time(['2005-01-01', '2012-01-01']))  # exposed in a time range
recent['obs_id', 't_min', 'file_path']"""),
    ("code", """from platform_lib import viz

viz.plot(crab)  # their footprints; viz.show(crab) draws them in Aladin, and moving.find_images(..., index=mine)
plt.show()      # says which of them hold an asteroid"""),
]

CATALOGS = [
    ("md", "# Catalogues: find them, search them, query them\n\nThe platform keeps a VizieR-style dictionary of its "
           "catalogues (columns, units, UCDs), stored as HATS (HEALPix-partitioned Parquet). A fresh platform has "
           "the Hipparcos new reduction (I/311, 117,955 stars with proper motions), OpenNGC (13,371 galaxies, clusters and "
           "nebulae) and StarNames (52,002 names of 38,266 Hipparcos stars, which `SkyCoord.from_name` reads)."),
    ("code", SETUP),
    ("md", "## What is there, and which columns hold what\n\n`sky_fraction` is the part of the sky a table's "
           "coverage map (MOC) marks as holding its sources, in cells of 3.4 arcmin: Hipparcos is all-sky, but its "
           "118,000 stars fill about 1 % of such cells. Which catalogues cover a position is read from these maps "
           "(`covering`, below)."),
    ("code", """from platform_lib.catalogs import Registry, cone_search, covering

registry = Registry.from_settings(readonly=True)
registry.dictionary('tables')['table', 'nrows', 'ra_column', 'dec_column', 'sky_fraction']"""),
    ("code", """found = registry.find_catalogs('hipparcos')  # catalogues by the words of their titles and descriptions
print('catalogues about Hipparcos:', ', '.join(found['name']))
registry.search('proper motion')  # columns by their names and descriptions (or ucd='pos.pm')"""),
    ("md", "## Which catalogues cover a position?\n\n`SkyCoord.from_name` finds an object by its name in the "
           "platform's own catalogues, with no internet: Messier, NGC and IC numbers and common names from OpenNGC "
           "(`'LMC'`, `'Andromeda Galaxy'`); stars by their IAU names (`'Vega'`), Bayer or Flamsteed designations "
           "(`'alpha Lyrae'`, `'alf Lyr'`, `'58 Ori'`), HD or HR numbers (`'HD 209458'`, `'HR 7001'`) or `'HIP <n>'` "
           "from Hipparcos, at J2000 as Sesame gives them "
           "(moved by their proper motions); famous radio sources, quasars and pulsars the catalogues do not "
           "name (`'Sgr A*'`, `'3C 273'`, `'Cyg A'`, `'Crab Pulsar'`) and the names a class types that they lack "
           "(`'Andromeda'`, `'Crab'`, `'Whirlpool'`: `platform_lib.famous.FAMOUS`). Which catalogues cover it is "
           "answered from each catalogue's coverage map (MOC) alone."),
    ("code", """pleiades = SkyCoord.from_name('M45')  # or 'Pleiades', or SkyCoord(56.75, 24.1167, unit='deg')
print('the Pleiades are at', pleiades.to_string('hmsdms'))
print('Vega is at', SkyCoord.from_name('alpha Lyrae').to_string('hmsdms', precision=1))
print('HD 209458, a planet host, is at', SkyCoord.from_name('HD 209458').to_string('hmsdms', precision=1))
print('HR 7001 is at', SkyCoord.from_name('HR 7001').to_string('hmsdms', precision=1), '(Vega again)')
print('the LMC is at', SkyCoord.from_name('LMC').to_string('hmsdms', precision=0))
print('Sgr A* is at', SkyCoord.from_name('Sgr A*').to_string('hmsdms', precision=1), 'and 3C 273 at',
      SkyCoord.from_name('3C 273').to_string('hmsdms', precision=1))
print(covering(pleiades, 1 * u.deg))"""),
    ("md", "## Cone search: the Pleiades in Hipparcos\n\nThe centre is a `SkyCoord`, a position as text "
           "(`'03h47m24s +24d07m00s'`, `'56.85 24.12'` in degrees) or a name, read as `SkyCoord.from_name` reads "
           "it: `cone_search('I/311', 'Pleiades', 2 * u.deg)` finds the same stars. So does the archive's cone "
           "search below (`platform_lib.retrieval.cone_search`)."),
    ("code", """stars = cone_search('I/311', pleiades, 2 * u.deg)
print(len(stars), 'Hipparcos stars within 2 deg of the Pleiades')
stars['HIP', 'ra', 'dec', 'Hpmag', 'parallax', 'pmra', 'pmdec'][:5]"""),
    ("code", """fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ax1.scatter(stars['ra'], stars['dec'], s=60 * 10 ** (-0.2 * (stars['Hpmag'] - 3)), c=stars['B_V'], cmap='coolwarm')
ax1.invert_xaxis(); ax1.set_xlabel('RA (deg)'); ax1.set_ylabel('Dec (deg)'); ax1.set_title('the Pleiades field')
members = (stars['parallax'] > 6.5) & (stars['parallax'] < 8.5)
ax2.scatter(stars['pmra'], stars['pmdec'], s=8, c='grey', label='field')
ax2.scatter(stars['pmra'][members], stars['pmdec'][members], s=12, c='tab:blue', label='parallax 6.5-8.5 mas')
ax2.set_xlim(-60, 60); ax2.set_ylim(-80, 40)
ax2.set_xlabel('pmRA (mas/yr)'); ax2.set_ylabel('pmDec (mas/yr)'); ax2.legend(); ax2.set_title('proper motions')
plt.show()"""),
    ("md", "## The same through the archive's cone search (IVOA SCS)\n\nAny VO client can ask the archive; "
           "`platform_lib.retrieval.cone_search` adds your login."),
    ("code", """from platform_lib.retrieval import cone_search as scs

vo = scs(pleiades, 0.5 * u.deg, catalog='I/311')
print(len(vo), 'rows from the archive service')"""),
    ("md", "## An ADQL query (TAP)\n\nThe archive's TAP service answers ADQL; here over the image table `ivoa.obscore`."),
    ("code", """from platform_lib.retrieval import tap_query

result = tap_query('SELECT obs_id, target_name, facility_name, s_ra, s_dec FROM ivoa.obscore ORDER BY s_ra',
                   service=archive + 'tap')
result"""),
]

CROSSMATCH = [
    ("md", "# Crossmatch your table against a platform catalogue\n\nIn memory, on a Dask cluster, and as a "
           "background job that outlives this notebook; with the separations and match probabilities."),
    ("code", SETUP),
    ("md", "## Your table\n\nHere a small made-up observation list: 300 Hipparcos stars of the Hyades field "
           "re-measured with 0.3 arcsec errors, and 50 sources that are not in Hipparcos."),
    ("code", """from astropy.table import Table
from platform_lib.catalogs import cone_search

hyades = SkyCoord(66.75, 15.87, unit='deg')
truth = cone_search('I/311', hyades, 5 * u.deg)
rng = np.random.default_rng(1)
pick = truth[rng.choice(len(truth), size=min(300, len(truth)), replace=False)]
err = 0.3 / 3600
mine = Table({'name': [f'obs{i}' for i in range(len(pick))],
              'ra': pick['ra'] + rng.normal(0, err, len(pick)) / np.cos(np.radians(pick['dec'])),
              'dec': pick['dec'] + rng.normal(0, err, len(pick))})
extra = Table({'name': [f'new{i}' for i in range(50)], 'ra': rng.uniform(62, 71, 50), 'dec': rng.uniform(11, 20, 50)})
from astropy.table import vstack
mine = vstack([mine, extra])
mine.write(Path(settings.home) / 'my_sources.parquet', overwrite=True)
print(len(mine), 'rows in my table')"""),
    ("md", "## In memory"),
    ("code", """from platform_lib.crossmatch import crossmatch

field = cone_search('I/311', hyades, 6 * u.deg)
matches = crossmatch(mine, field, 2 * u.arcsec, probability=True,
                     left_errors=0.3 * u.arcsec, right_errors=0.01 * u.arcsec)
print(len(matches), 'of', len(mine), 'sources matched')
matches['name', 'HIP', 'separation_arcsec', 'match_probability'][:5]"""),
    ("code", """fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.hist(matches['separation_arcsec'], bins=30)
ax1.set_xlabel('separation (arcsec)'); ax1.set_ylabel('pairs'); ax1.set_title('separations')
ax2.hist(matches['match_probability'], bins=20, range=(0, 1))
ax2.set_xlabel('match probability'); ax2.set_ylabel('pairs'); ax2.set_title('Bayesian match probabilities')
plt.show()"""),
    ("md", "## Your own file\n\nUpload a CSV, FITS or VOTable file with the file browser (its upload button), read it "
           "with `Table.read` and match it against a platform catalogue by name: only the catalogue's partitions "
           "around your positions are read. Positions may be in degrees or sexagesimal text (`03 47 29.08`, "
           "`+24 06 18.5`: right ascension in hours), in columns named `ra`/`dec`, `RA`/`Dec`, `RAJ2000`/`DEJ2000`..."),
    ("code", """csv = Path(settings.home) / 'pleiades-example.csv'   # written here; your own file: uploaded
csv.write_text('name,RA,Dec\\nAlcyone,03 47 29.08,+24 06 18.5\\nAtlas,03 49 09.74,+24 03 12.3\\n'
               'Electra,03 44 52.54,+24 06 48.0\\n')
uploaded = Table.read(csv)
pleiades = crossmatch(uploaded, 'I/311', 3 * u.arcsec)
print(len(pleiades), 'of my', len(uploaded), 'Pleiades stars are in Hipparcos: HIP', ', '.join(map(str, pleiades['HIP'])))"""),
    ("md", "## On Dask, against the whole catalogue\n\nGive the catalogue's registry name: its HEALPix partitions "
           "(and their margin caches) are read by the cluster's workers. The next cell prints nothing until it is "
           "done: a minute or so, most of it the cluster and its worker starting (more when the platform is busy). To "
           "watch it work, open the Dask sidebar (the Dask logo on the left): the cell's cluster is listed there as "
           "\"GatewayCluster <id>\", selected once the sidebar lists it (within 5 s of the cell's start; a cluster you "
           "click stays selected until a newer one is listed), then TASK STREAM or PROGRESS."),
    ("code", """from platform_lib import gateway

cluster = gateway.cluster(workers=1)  # run again: the same cluster
client = cluster.get_client()
client.wait_for_workers(1, timeout=120)
on_dask = crossmatch(mine, 'I/311', 2 * u.arcsec, client=client, progress=False)
print(len(on_dask), 'pairs on Dask;', len(matches), 'in memory')
assert len(on_dask) == len(matches)"""),
    ("code", """client.close()
cluster.shutdown()"""),
    ("md", "## As a background job\n\nThe job runs on the platform, not in this kernel: you can close the notebook "
           "and come back for the result."),
    ("code", """from platform_lib import jobs

job = jobs.submit('crossmatch', {'left': 'my_sources.parquet', 'right': 'I/311', 'radius': '2 arcsec'})
job.wait(timeout=300)
result = job.result()
print(job.status(), len(result), 'pairs from the job')
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(np.asarray(result['separation_arcsec']), bins=30, color='tab:green')
ax.set_xlabel('separation (arcsec)'); ax.set_ylabel('pairs'); ax.set_title('the job\\'s matches')
plt.show()"""),
]

GW = [
    ("md", "# A gravitational-wave sky map: which stars and galaxies fall in the 90 % region?\n\n"
           "The platform ships the sky map of a public LIGO/Virgo alert in `datasets/skymaps/`: **S190814bv**, a "
           "neutron star + black hole candidate of 14 August 2019, as its update alert gave it (the LALInference "
           "map, with distances; `docs/sample-data.md`). Any alert's map reads the same way, flat or multi-order: "
           "put it in your home and give its path to `read_skymap`. A flat map is read into its exact multi-order "
           "form (the 12.6 million pixels of this one are 16,896 pixels of orders 4 to 10, every value kept, as "
           "ligo.skymap's `read_sky_map(moc=True)` makes them), so the read takes about a second and each question "
           "after it a few milliseconds."),
    ("code", SETUP),
    ("code", """from platform_lib.skymap import read_skymap

map_path = Path(settings.datasets) / 'skymaps' / 'S190814bv_LALInference.v1.fits.gz'
skymap = read_skymap(map_path)
print('S190814bv from', skymap.meta['ORIGIN'], 'observed', skymap.meta['DATE-OBS'])
print('50 % credible area:', skymap.credible_area(0.5).to(u.deg ** 2).round(1))
print('90 % credible area:', skymap.credible_area(0.9).to(u.deg ** 2).round(1))
print(f"distance: {skymap.meta['DISTMEAN']:.0f} +/- {skymap.meta['DISTSTD']:.0f} Mpc")"""),
    ("md", "## Galaxies (OpenNGC) and bright stars (Hipparcos) in the 90 % region\n\n"
           "`match_skymap` gives each source its probability density and the smallest credible region "
           "containing it. The whole catalogues are read (a cone of 180 degrees) and tested: matching their "
           "130,000 rows takes a few hundredths of a second."),
    ("code", """from platform_lib.catalogs import cone_search
from platform_lib.skymap import match_skymap

whole_sky = dict(position=SkyCoord(0, 0, unit='deg'), radius=180 * u.deg)
galaxies = cone_search('OpenNGC', whole_sky['position'], whole_sky['radius'])
galaxies = galaxies[galaxies['type'] == 'G']
stars = cone_search('I/311', whole_sky['position'], whole_sky['radius'])
gal_match = match_skymap(galaxies, skymap)
star_match = match_skymap(stars, skymap)
gal_in, star_in = galaxies[gal_match['in_90']], stars[star_match['in_90']]
print(len(gal_in), 'OpenNGC galaxies and', len(star_in), 'Hipparcos stars in the 90 % region')
gal_in['probdensity_deg2'] = gal_match['probdensity_deg2'][gal_match['in_90']]
gal_in.sort('probdensity_deg2', reverse=True)
gal_in['name', 'ra', 'dec', 'bmag', 'redshift', 'probdensity_deg2'][:10]"""),
    ("md", "## In three dimensions: which of those galaxies are at the right distance?\n\n"
           "The map also holds a distance distribution for each direction. With a distance for each galaxy "
           "(from its redshift, with the Planck 2018 cosmology), `match_skymap` says which lie in the 90 % "
           "*volume*: the candidates a follow-up telescope would point at first."),
    ("code", """from astropy.cosmology import Planck18

z = np.ma.filled(gal_in['redshift'], np.nan).astype(float)
with_z = gal_in[np.isfinite(z) & (z > 0)]
distance = Planck18.luminosity_distance(np.asarray(with_z['redshift'], dtype=float)).to(u.Mpc)
volume = match_skymap(with_z, skymap, distance=distance)
with_z['distance_Mpc'] = distance.round(0)
candidates = with_z[volume['in_vol_90']]
print(len(candidates), 'of the', len(with_z), 'galaxies with a redshift are in the 90 % volume')
candidates['name', 'ra', 'dec', 'redshift', 'distance_Mpc']"""),
    ("md", "## Which images cover the event?\n\n"
           "An observer's question is not where an image's centre falls but how much of the event its footprint "
           "covers. Given ObsCore rows (here every image of the platform's archive, by ADQL on `ivoa.obscore`; an "
           "SIA v2 result or an `ImageIndex` query works the same), `match_skymap` gives each image the probability "
           "inside its footprint (`s_region`), whether it meets the 50 % and 90 % regions (`overlaps_90`), and "
           "the probability all of them cover together, overlaps counted once (`meta['prob_covered']`; "
           "`docs/skymaps.md`)."),
    ("code", """from platform_lib.retrieval import tap_query

images = tap_query('SELECT obs_id, target_name, s_ra, s_dec, s_fov, s_region FROM ivoa.obscore',
                   service=archive + 'tap')
covered = match_skymap(images, skymap)
print(f"{int(covered['overlaps_90'].sum())} of the archive's {len(images)} images meet the 90 % region; "
      f"together they cover {covered.meta['prob_covered']:.2%} of the probability")"""),
    ("md", "The archive's sample images are of M1, M13, M51 and others, far from this event. A follow-up plan is "
           "footprints too: nine one-degree fields on the densest galaxies in the 90 % region."),
    ("code", """from astropy.table import Table

tiles = Table({'obs_id': [f'field {i}' for i in range(9)], 's_ra': gal_in['ra'][:9], 's_dec': gal_in['dec'][:9]})
tiles['s_region'] = [f'Circle ICRS {ra:.4f} {dec:.4f} 1.0' for ra, dec in zip(tiles['s_ra'], tiles['s_dec'])]
plan = match_skymap(tiles, skymap)
tiles['prob'] = plan['prob_in_footprint'].round(4)
print(f"the 9 fields cover {plan.meta['prob_covered']:.1%} of the probability together "
      f"({plan['prob_in_footprint'].sum():.1%} summed one by one: they overlap)")
tiles['obs_id', 's_ra', 's_dec', 'prob']"""),
    ("md", "## The map, its 50 % and 90 % regions and the galaxies inside, all-sky and zoomed on the peak"),
    ("code", """from platform_lib import viz

viz.plot(skymap, candidates=gal_in, title='S190814bv (LALInference) and the OpenNGC galaxies in its 90 % region')"""),
    ("code", """viz.plot(skymap, center='peak', radius=6 * u.deg, candidates=candidates)"""),
]

OPEN_CLUSTERS = [
    ("md", "# Open clusters in Hipparcos: members, a colour-magnitude diagram, results for your group\n\n"
           "Which open clusters of OpenNGC have Hipparcos members, how far away are they, and what do their "
           "colour-magnitude diagrams look like? An afternoon's analysis through the archive's TAP service: an "
           "asynchronous ADQL join of two catalogues, a table of your own uploaded and joined, a proper-motion and "
           "parallax cut, a plot, and the results written to your group's folder for your colleagues (FITS with "
           "its units and UCDs, which TOPCAT reads too)."),
    ("code", SETUP),
    ("md", "## Every open cluster's Hipparcos stars: one asynchronous ADQL join\n\n"
           "OpenNGC gives each cluster's centre and major axis (arcmin); the join keeps the Hipparcos stars within "
           "half of it. `async_=True` submits a UWS job that you can wait for, or leave and come back to."),
    ("code", '''from platform_lib.retrieval import tap_query

adql = """
SELECT o.name AS cluster, h.HIP, h.parallax, h.pmra, h.pmdec, h.Hpmag, h.B_V,
       DISTANCE(POINT('ICRS', o.ra, o.dec), POINT('ICRS', h.ra, h.dec)) AS dist
FROM OpenNGC.objects AS o JOIN I_311.hip2 AS h
  ON 1 = CONTAINS(POINT('ICRS', h.ra, h.dec), CIRCLE('ICRS', o.ra, o.dec, o.majax / 120.0))
WHERE o.type = 'OCl'"""
job = tap_query(adql, async_=True, maxrec=100_000)
print(job)
job.wait()
stars = job.fetch()
print(len(stars), 'Hipparcos stars inside', len(set(stars['cluster'])), 'open clusters;',
      'the farthest', stars['dist'].quantity.max().to(u.arcmin).round(1), 'from its centre')'''),
    ("md", "## Your own table: the clusters with at least 8 stars, their mean motion and distance"),
    ("code", """from astropy.table import Table, join

rows = []
by_cluster = stars.group_by('cluster')
for key, group in zip(by_cluster.groups.keys, by_cluster.groups):
    if len(group) >= 8:
        rows.append((key['cluster'], len(group), np.ma.median(group['pmra']), np.ma.median(group['pmdec']),
                     np.ma.median(group['parallax'])))
clusters = Table(rows=rows, names=['cluster', 'n', 'pmra0', 'pmdec0', 'plx0'],
                 units={'pmra0': u.mas / u.yr, 'pmdec0': u.mas / u.yr, 'plx0': u.mas})
centres = tap_query("SELECT name AS cluster, ra, dec, majax FROM OpenNGC.objects WHERE type = 'OCl'", maxrec=5000)
clusters = join(clusters, centres, keys='cluster')
clusters['radius'] = (clusters['majax'].quantity / 2).to(u.deg)
clusters['distance'] = clusters['plx0'].quantity.to(u.pc, equivalencies=u.parallax()).round(0)
shown = clusters['cluster', 'n', 'pmra0', 'pmdec0', 'plx0', 'distance', 'radius']  # a copy, for display
for column, digits in {'pmra0': '.2f', 'pmdec0': '.2f', 'plx0': '.2f', 'distance': '.0f', 'radius': '.3f'}.items():
    shown[column].info.format = digits  # how it prints; `clusters` keeps every digit
shown"""),
    ("md", "## An upload join: your table against Hipparcos, on the archive\n\n"
           "`uploads=` sends your table with the query (`TAP_UPLOAD.clusters`); here each cluster's field. A cluster "
           "reaches about 10 pc from its centre (its tidal radius), whatever its distance: that is 12 deg of sky for the Hyades at "
           "46 pc, far beyond the 2.7 deg radius OpenNGC gives, and less than OpenNGC's radius for distant clusters. "
           "So the field reaches out to 10 pc at the cluster's distance, or 1.5 times OpenNGC's radius if that is "
           "larger."),
    ("code", '''field_sql = """
SELECT c.cluster, h.HIP, h.ra, h.dec, h.parallax, h.parallax_error, h.pmra, h.pmra_error, h.pmdec, h.pmdec_error,
       h.Hpmag, h.B_V, DISTANCE(POINT('ICRS', c.ra, c.dec), POINT('ICRS', h.ra, h.dec)) AS dist
FROM TAP_UPLOAD.clusters AS c JOIN I_311.hip2 AS h
  ON 1 = CONTAINS(POINT('ICRS', h.ra, h.dec), CIRCLE('ICRS', c.ra, c.dec, c.search_radius))"""
tidal = 10 * u.pc  # about a cluster's tidal radius (the Hyades': Perryman et al. 1998)
clusters['search_radius'] = np.maximum(1.5 * clusters['radius'].quantity,
                                       np.arctan2(tidal, clusters['distance'].quantity).to(u.deg))
field = tap_query(field_sql, uploads={'clusters': clusters}, maxrec=100_000)
field = join(field, clusters['cluster', 'pmra0', 'pmdec0', 'plx0', 'radius'], keys='cluster')
print(len(field), 'stars in the fields of', len(clusters), 'clusters; the widest',
      clusters['search_radius'].quantity.max().round(1), 'in radius')'''),
    ("md", "## Members: the stars that move with the cluster\n\n"
           "A cluster's stars share one velocity in space, **V**. What we see of it is each star's proper motion: "
           "the part of **V** across the line of sight, divided by the star's distance. For a distant cluster, a "
           "fraction of a degree across, every member then has nearly the same proper motion, and a cut around the "
           "median works. The Hyades are 46 pc away and 20 deg across: their members' proper motions differ by tens "
           "of mas/yr from one side to the other (they point to one *convergent point*, the direction of **V**), and "
           "their parallaxes by 10 mas from front to back. A fixed cut (5 mas/yr, 1.5 mas around the median) "
           "found 6 of them.\n\n"
           "So each cluster's **V** (km/s, ICRS x, y, z) is fitted to its members' proper motions and parallaxes, "
           "starting from the stars near its centre and its median motion, and a star is a member when\n\n"
           "- its proper motion is what **V** gives at its place and parallax, within its errors and 1 km/s of "
           "motion of its own (a chi-square with 2 degrees of freedom under 9.21, 99 % of true members), and\n"
           "- its parallax is the cluster's within twice its depth (10 pc nearer or farther, in parallax) and the "
           "star's error combined.\n\n"
           "The parallax used for each star is its own where Hipparcos measured it better than the cluster's depth "
           "(near clusters), the cluster's where not (far ones), the two weighted by their errors. Members found, "
           "**V** is fitted again, until nothing changes. The same cell serves both: for a far cluster the fit "
           "pins down the part of **V** across the sky, all its members need."),
    ("code", """from astropy.table import vstack

K = 4.740470  # km/s per mas/yr at a parallax of 1 mas: speed = K * proper motion / parallax


def sky_axes(ra, dec):
    \"\"\"Unit vectors (ICRS x, y, z) pointing east, north and away from us at each position (degrees).\"\"\"
    a, d = np.radians(ra), np.radians(dec)
    east = np.stack([-np.sin(a), np.cos(a), np.zeros_like(a)], axis=-1)
    north = np.stack([-np.sin(d) * np.cos(a), -np.sin(d) * np.sin(a), np.cos(d)], axis=-1)
    away = np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=-1)
    return east, north, away


def select_members(stars, first_guess, dispersion=1.0, chi2_max=9.21):
    \"\"\"Which of one cluster's `stars` move with it, and its velocity V (km/s, ICRS x, y, z).\"\"\"
    values = {name: np.ma.filled(stars[name], np.nan).astype(float)
              for name in ('ra', 'dec', 'parallax', 'parallax_error', 'pmra', 'pmra_error', 'pmdec', 'pmdec_error')}
    east, north, _ = sky_axes(values['ra'], values['dec'])
    plx, plx_err, plx0 = values['parallax'], values['parallax_error'], stars['plx0'][0]
    pm = np.stack([values['pmra'], values['pmdec']], axis=-1)
    depth = plx0 ** 2 * tidal.to_value(u.kpc)  # mas: the parallax of a star `tidal` nearer or farther
    weight = 1 / plx_err ** 2 + 1 / depth ** 2
    best = (plx / plx_err ** 2 + plx0 / depth ** 2) / weight  # each star's parallax, its own or the cluster's
    near = np.abs(plx - plx0) < 2 * np.hypot(plx_err, depth)
    member = first_guess & near
    for _ in range(20):
        across = np.concatenate([east[member], north[member]])  # fit V to the members' speeds across the sky
        speeds = K * np.concatenate([pm[member, 0] / best[member], pm[member, 1] / best[member]])
        velocity = np.linalg.lstsq(across, speeds, rcond=None)[0]
        per_mas = np.stack([east @ velocity, north @ velocity], axis=-1) / K  # V's proper motion per mas of parallax
        residual = pm - best[:, None] * per_mas
        cov = np.zeros((len(stars), 2, 2))  # each residual's errors: proper motion, own motion, parallax
        cov[:, 0, 0], cov[:, 1, 1] = values['pmra_error'] ** 2, values['pmdec_error'] ** 2
        cov += ((best * dispersion / K) ** 2)[:, None, None] * np.eye(2)
        cov += (1 / weight)[:, None, None] * per_mas[:, :, None] * per_mas[:, None, :]
        chi2 = np.einsum('ni,nij,nj->n', residual, np.linalg.inv(cov), residual)
        found = near & (chi2 < chi2_max)
        if (found == member).all():
            break
        member = found
    return member, velocity * u.km / u.s


parts, velocities = [], {}
by_cluster = field.group_by('cluster')
for key, stars in zip(by_cluster.groups.keys, by_cluster.groups):
    moving = np.hypot(stars['pmra'] - stars['pmra0'], stars['pmdec'] - stars['pmdec0']) < 5  # mas/yr
    core = (stars['dist'] < stars['radius']) & moving  # the first guess: the centre's stars at its median motion
    member, velocities[key['cluster']] = select_members(stars, np.ma.filled(core, False))
    parts.append(stars[member])
members = vstack(parts)
print(len(members), 'members in', len(set(members['cluster'])), 'clusters, of', len(field), 'stars in their fields')
for key, group in zip(members.group_by('cluster').groups.keys, members.group_by('cluster').groups):
    distance = group['parallax'].quantity.mean().to(u.pc, equivalencies=u.parallax())
    print(f"{key['cluster']}: {len(group)} members, at {distance:.0f}")
print('pmra:', members['pmra'].unit, members['pmra'].meta['ucd'], '-', members['pmra'].description)"""),
    ("md", "## The Hyades against the published figures\n\n"
           "Perryman et al. (1998, A&A 331, 81) studied the Hyades with the first Hipparcos catalogue and ground-based "
           "radial velocities: about 200 candidate members, the centre of those within 10 pc (the tidal radius) at "
           "46.34 ± 0.27 pc, and a space velocity of 46.4 km/s towards the convergent point ra 97.4 deg, dec "
           "+6.9 deg. Here, from proper motions and parallaxes alone (the new reduction, I/311): the members' "
           "positions in space from their parallaxes, their centre, those within 10 pc of it, and **V**. (The journey "
           "test checks the count and the distance; `examples/_src/check_hyades.py` gets them again with astropy "
           "from the catalogue file.)"),
    ("code", """hyades = members[members['cluster'] == 'C041']  # OpenNGC's name: Caldwell 41
_, _, away = sky_axes(np.asarray(hyades['ra']), np.asarray(hyades['dec']))
xyz = away * hyades['parallax'].quantity.to_value(u.pc, equivalencies=u.parallax())[:, None]  # pc, ICRS x, y, z
centre = xyz.mean(axis=0)
for _ in range(20):  # the centre of the members within 10 pc of it
    inside = np.linalg.norm(xyz - centre, axis=1) < tidal.to_value(u.pc)
    centre = xyz[inside].mean(axis=0)
v = velocities['C041'].to_value(u.km / u.s)
apex_ra, apex_dec = np.degrees(np.arctan2(v[1], v[0])) % 360, np.degrees(np.arcsin(v[2] / np.linalg.norm(v)))
print(f"the Hyades: {inside.sum()} members within {tidal:.0f} of their centre, at {np.linalg.norm(centre):.1f} pc "
      f"(Perryman et al. 1998: 46.34 ± 0.27 pc); {len(hyades)} members in all")
print(f"their space velocity: {np.linalg.norm(v):.1f} km / s towards ra {apex_ra:.1f} deg, dec {apex_dec:+.1f} deg "
      "(Perryman et al. 1998: 46.4 km / s towards ra 97.4 deg, dec +6.9 deg)")"""),
    ("md", "## Their colour-magnitude diagrams\n\nAbsolute magnitudes from each star's own parallax."),
    ("code", """fig, ax = plt.subplots(figsize=(7, 6))
by_cluster = members.group_by('cluster')
for key, group in zip(by_cluster.groups.keys, by_cluster.groups):
    absolute = group['Hpmag'] + 5 * np.log10(group['parallax'].quantity.to_value(u.arcsec)) + 5
    ax.scatter(group['B_V'], absolute, s=14, label=f"{key['cluster']} ({len(group)} stars)")
ax.invert_yaxis(); ax.set_xlabel('B - V (mag)'); ax.set_ylabel('absolute Hp (mag)')
ax.set_title('Hipparcos members of open clusters'); ax.legend(fontsize=8)
plt.show()"""),
    ("md", "## Results for your group\n\n"
           "`Storage` writes into your group's folder (or your home if you are in no group) atomically. FITS and "
           "VOTable keep units, descriptions and UCDs; in FITS they are also the `TUNITn`, `TUCDn` and `TCOMMn` "
           "cards that TOPCAT and STILTS read. CSV keeps only the values."),
    ("code", """import io

from platform_lib.storage import Storage

storage = Storage()
where = f'group/{settings.groups[0]}:open-clusters' if settings.groups else 'home:open-clusters'
for name in ('members.fits', 'members.vot', 'members.csv'):
    print(storage.write_table(members, f'{where}/{name}', overwrite=True))
png = io.BytesIO()
fig.savefig(png, format='png')
print(storage.write_bytes(f'{where}/cmd.png', png.getvalue()))"""),
    ("md", "## Read back, as a colleague would"),
    ("code", """from astropy.io import fits

back = storage.read_table(f'{where}/members.fits')
print(len(back), 'rows read back; pmra in', back['pmra'].unit, 'with UCD', back['pmra'].meta['ucd'])
header = fits.getheader(storage.local_path(f'{where}/members.fits'), 1)
column = back.colnames.index('pmra') + 1
print({key: header[f'{key}{column}'] for key in ('TTYPE', 'TUNIT', 'TUCD', 'TCOMM')})"""),
]

FITS_VIEWER = [
    ("md", "# Open an archive image in the FITS viewer\n\n"
           "JupyterLab here opens FITS files itself: double-click one in the file browser and it is drawn in a "
           "viewer tab, with its sky coordinates, its HDUs and its header. This short tutorial fetches an image of "
           "M13 from the platform's archive (SIA v2), saves it in your home, and shows what the viewer will show."),
    ("code", """from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

import platform_lib
from platform_lib.retrieval import image_search, make_session

settings = platform_lib.get_settings()
m13 = SkyCoord(250.4235, 36.4613, unit='deg')  # the Great Globular Cluster in Hercules
found = image_search(m13, 0.1 * u.deg)
found['obs_id', 'obs_collection', 'instrument_name', 's_fov']"""),
    ("md", "## Save one in your home\n\nThe download needs your login, which the platform's session adds."),
    ("code", """record = found[found['obs_id'] == 'sample/m13_dss'][0]  # a SkyView cut-out of M13 (its header names no survey)
response = make_session(settings).get(record['access_url'], timeout=60)
response.raise_for_status()
path = Path(settings.home) / 'm13_dss.fits'
part = path.with_name(path.name + '.part')  # written whole, then renamed: never half a file under its name
part.write_bytes(response.content)
part.replace(path)
print(f'saved {path.name} ({path.stat().st_size / 1024:.0f} KiB) in your home')"""),
    ("md", "## Open it\n\nIn the file browser on the left, go to your home (the house icon) and **double-click "
           "`m13_dss.fits`**. A *FITS Viewer* tab opens with:\n\n"
           "- the list of its HDUs (click one to show it), here one 16-bit image;\n"
           "- the image drawn with ZScale (or an asinh stretch), north up as the header's WCS puts it, origin lower, "
           "as below;\n"
           "- the RA/Dec of its corners, and of the pixel under your cursor with its value;\n"
           "- its header, card by card.\n\n"
           "It opens compressed files as archives serve them too (`.fits.gz`, `.fits.Z`, `.fits.bz2`, "
           "tile-compressed `.fz`), and draws HEALPix sky maps on the whole sky: try "
           "`datasets/skymaps/bayestar_h1l1_2010.fits.gz`, a gravitational-wave localisation outlined at its 50 % "
           "and 90 % credible regions. The picture below is the same image drawn here with matplotlib."),
    ("code", """%matplotlib inline
import matplotlib.pyplot as plt
from astropy.io import fits
from astropy.visualization import ImageNormalize, ZScaleInterval

data = fits.getdata(path)
fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(data, cmap='gray', origin='lower', norm=ImageNormalize(data, interval=ZScaleInterval()))
ax.set_xlabel('x (pixel)'); ax.set_ylabel('y (pixel)')
ax.set_title(f'{path.name}: {data.shape[1]} x {data.shape[0]} pixels, ZScale')
plt.show()"""),
]

TUTORIALS = {
    "getting-started": GETTING_STARTED,
    "images": IMAGES,
    "fits-viewer": FITS_VIEWER,
    "catalogues": CATALOGS,
    "crossmatch": CROSSMATCH,
    "gw-skymap": GW,
    "open-clusters": OPEN_CLUSTERS,
}


def notebook(name: str) -> nbformat.NotebookNode:
    """The tutorial ``name`` of :data:`TUTORIALS`, as ``main`` writes it to ``examples/<name>.ipynb``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, (kind, text) in enumerate(TUTORIALS[name]):
        cell = nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        cell["id"] = f"{name}-{i}"
        nb.cells.append(cell)
    return nb


def main() -> None:
    for name in TUTORIALS:
        nbformat.write(notebook(name), HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
